"""`meterline meters ...`: run meter rebuilds (meters/rebuilds.py) from the command line."""

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from meterline.clisupport import open_db, settings
from meterline.db.engine import transaction
from meterline.kit.times import now_us
from meterline.meters import rebuilds
from meterline.meters import repository as repo

app = typer.Typer(help="Meters: rollup maintenance.", no_args_is_help=True)


@app.command("backfill")
def backfill(
    account: Annotated[str | None, typer.Option("--account", help="Only this account's meters")] = None,
    meter: Annotated[str | None, typer.Option("--meter", help="Rebuild this meter (queued now, then run)")] = None,
    every: Annotated[bool, typer.Option("--all", help="Rebuild every live meter (of --account)")] = False,
) -> None:
    """Run the pending meter rebuilds (or resume those a crashed process left) to their
    end, with a progress bar; `--meter` / `--all` queue a rebuild first.

    A rebuild folds the stored events into fresh rollups in chunks and swaps them in at
    the end: reads stay exact meanwhile. Safe beside running servers and workers (a job is
    held by one process at a time, under a lease).
    """
    loaded = settings()
    db = open_db(loaded)
    config = rebuilds.RebuildConfig.from_settings(loaded)
    err = Console(stderr=True)
    account_id = account.lower() if account else None
    try:
        if meter or every:
            with transaction(db) as conn:
                rows = repo.all_live(conn, account_id)
                if meter:
                    rows = [r for r in rows if r["id"] == meter.lower()]
                    if not rows:
                        err.print(f"[red]error:[/red] no live meter {meter}")
                        raise typer.Exit(1)
                for row in rows:
                    rebuilds.schedule(conn, account_id=row["account_id"], meter=row, stale=False, now=now_us())
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        done = 0
        with Progress(*columns, console=err) as progress:
            while (
                claimed := rebuilds.claim(db, config, account_id=account_id, meter_id=meter and meter.lower())
            ) is not None:
                task = progress.add_task(f"meter {claimed[0]}", total=None)

                def report(job: dict[str, Any], task: TaskID = task) -> None:
                    progress.update(
                        task,
                        description=f"meter {job['meter_id']}",
                        completed=job["events_done"],
                        total=job["events_total"],
                    )

                try:
                    job = rebuilds.run_job(db, *claimed, config, progress=report)
                except rebuilds.LostLease:
                    continue
                done += job["status"] == "done"
        while rebuilds.drain_drops(db, chunk=config.chunk_events):
            pass
        with transaction(db, write=False) as conn:
            left = repo.count_active_rebuilds(conn, account_id)
        err.print(f"rebuilt {done} meter(s)" + (f"; {left} held by other processes" if left else ""))
    finally:
        db.dispose()
