"""`meterline meters ...`: rebuild meter rollups from the stored events."""

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from meterline.config import Settings
from meterline.db.engine import open_database, transaction
from meterline.meters import repository as repo
from meterline.usage import service as usage_service

app = typer.Typer(help="Meters: rollup maintenance.", no_args_is_help=True)


@app.command("backfill")
def backfill(
    account: Annotated[str | None, typer.Option("--account", help="Only this account's meters")] = None,
    meter: Annotated[str | None, typer.Option("--meter", help="Only this meter")] = None,
) -> None:
    """Rebuild the rollups of every live meter (or one) from the stored events.

    Each meter is rebuilt in one transaction: readers see the old rollups or the new ones,
    never a half-built state. Safe to run while the server is ingesting.
    """
    db = open_database(Settings.from_env())
    err = Console(stderr=True)
    try:
        with transaction(db, write=False) as conn:
            rows = repo.all_live(conn, account.lower() if account else None)
        if meter:
            rows = [r for r in rows if r["id"] == meter.lower()]
            if not rows:
                err.print(f"[red]error:[/red] no live meter {meter}")
                raise typer.Exit(1)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err) as progress:
            for row in rows:
                task = progress.add_task(f"{row['name']} ({row['id']})", total=None)

                def report(done: int, total: int, task: TaskID = task) -> None:
                    progress.update(task, completed=done, total=total)

                with transaction(db) as conn:
                    usage_service.backfill(conn, row["account_id"], row, progress=report)
        err.print(f"rebuilt {len(rows)} meter(s)")
    finally:
        db.dispose()
