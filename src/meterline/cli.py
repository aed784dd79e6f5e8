"""The `meterline` command. Its output formats are a contract scripts rely on: answers on
stdout, JSON log lines on stderr (meterline.clisupport)."""

import json
import os
import shutil
import tempfile
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from meterline.auth import repository as auth_repo
from meterline.auth import service as auth_service
from meterline.clisupport import fail, log, open_db, settings
from meterline.db.engine import Database, transaction
from meterline.db.migrate import current_revisions, upgrade
from meterline.meters import cli as meters_cli

app = typer.Typer(help="Meterline: usage metering and billing server (Vayu API).", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (tenants).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of an account.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(meters_cli.app, name="meters")


def _db() -> Database:
    return open_db()


def _migrate(db: Database) -> None:
    applied = upgrade(db)
    for revision in applied:
        log.info("migration_applied", revision=revision)
    if not applied:
        log.info("already at head " + ", ".join(sorted(current_revisions(db))))


@app.command()
def migrate() -> None:
    """Apply every pending database migration, each named on stderr; on SQLite, delete sqlite_stat4 samples."""
    db = open_db(migrated=False)
    try:
        _migrate(db)
    finally:
        db.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Server processes sharing the port [default: METERLINE_WORKERS]")
    ] = None,
) -> None:
    """Migrate, create the `default` account on an empty database, then serve the API.

    With --workers N, N processes serve the port (each builds the app from the same
    METERLINE_* settings); on SQLite their ingestion writers queue on one lock file.
    """
    import uvicorn

    loaded = settings()
    workers = workers or loaded.workers
    if workers > 1:
        # prometheus-client's multiprocess mode: each process writes its metrics to files in
        # this fresh directory; a scrape served by any process sums them (kit.metrics).
        metrics_dir = tempfile.mkdtemp(prefix="meterline-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    from meterline.app import create_app
    from meterline.logs import uvicorn_log_config

    db = open_db(loaded, migrated=False)
    try:
        _migrate(db)
        with transaction(db) as conn:
            if auth_repo.count_accounts(conn) == 0:
                created = auth_service.create_account(conn, name="default")
                # Printed once: only its hash is stored.
                typer.echo(f"Created account 'default' ({created.account_id}).")
                typer.echo(f"API key (shown once, keep it): {created.api_key}")
    finally:
        db.dispose()
    log.info("listening", url=f"http://{host}:{port}", workers=workers)
    try:
        uvicorn.run(
            create_app(loaded) if workers == 1 else "meterline.app:create_app",
            factory=workers > 1,
            workers=workers,
            host=host,
            port=port,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_config=uvicorn_log_config(loaded.log_level),
            log_level=loaded.log_level.lower(),
            # uvicorn restarts a worker that is not ready within this (5 s by default);
            # importing the app takes seconds on a loaded host, so a short limit restarts
            # workers forever and the port never answers.
            timeout_worker_healthcheck=120,
        )
    finally:
        if workers > 1:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@app.command()
def worker() -> None:
    """Deliver webhooks, scan usage thresholds, issue due invoices, run meter rebuilds and
    fold new events into the rollups until SIGINT/SIGTERM.

    Safe beside `meterline serve` processes and other workers: deliveries are leased one by
    one, and each periodic job runs in one process at a time (the holder of its lease);
    set METERLINE_BACKGROUND_JOBS=0 on servers to run all of it only here.
    """
    from meterline.webhooks.worker import run_blocking

    loaded = settings()
    db = open_db(loaded, migrated=False)
    try:
        _migrate(db)
        log.info("webhook worker running")
        run_blocking(db, loaded)
    finally:
        db.dispose()


@app.command()
def demo(
    days: Annotated[int, typer.Option(min=1, max=366, help="Days of events, ending today")] = 90,
    customers: Annotated[int, typer.Option(min=1, max=100, help="Customers, each on a contract")] = 5,
) -> None:
    """Create a `demo` account with meters, products, a plan, customers, contracts and DAYS days
    of events (~700 a day), then print an API key, a customer id and three commands to try.
    Run again: nothing is duplicated, a fresh key is printed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from meterline import demo as demo_mod

    db = open_db(migrated=False)
    try:
        _migrate(db)
        columns = (TextColumn("events"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("events", total=None)
            made = demo_mod.create(
                db, days=days, customers=customers,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    finally:
        db.dispose()
    if made.created:
        typer.echo(f"Created the demo account ({made.account_id}) with {made.events:,} events over {days} days.")
    else:
        typer.echo(f"The demo account exists already ({made.account_id}): nothing added; a new API key for it.")
    typer.echo(f"API key: {made.api_key}")
    typer.echo(f"Customer: {made.customer_id} (alias {made.alias})")
    typer.echo("With `make serve` running, try:")
    for command in demo_mod.commands(made):
        typer.echo(f"  {command}")


@accounts_app.command("create")
def accounts_create(name: str, as_json: Annotated[bool, typer.Option("--json", help="One JSON line")] = False) -> None:
    """Create an account and its first API key."""
    db = _db()
    with transaction(db) as conn:
        created = auth_service.create_account(conn, name=name)
    db.dispose()
    if as_json:
        typer.echo(json.dumps({"accountId": created.account_id, "apiKey": created.api_key}))
    else:
        typer.echo(f"account {created.account_id}\napi key {created.api_key}")


@accounts_app.command("list")
def accounts_list() -> None:
    """List accounts."""
    db = _db()
    with transaction(db, write=False) as conn:
        rows = auth_repo.list_accounts(conn)
    db.dispose()
    table = Table("accountId", "name")
    for r in rows:
        table.add_row(r["id"], r["name"])
    Console().print(table)


@keys_app.command("create")
def keys_create(
    account_id: str, as_json: Annotated[bool, typer.Option("--json", help="One JSON line")] = False
) -> None:
    """Create another API key for ACCOUNT_ID."""
    from meterline.kit.errors import ApiError

    db = _db()
    try:
        with transaction(db) as conn:
            key = auth_service.create_key(conn, account_id=account_id.lower())
    except ApiError as exc:
        fail(exc.message)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps({"keyId": key.key_id, "apiKey": key.api_key}))
    else:
        typer.echo(f"key {key.key_id}\napi key {key.api_key}")


@keys_app.command("list")
def keys_list(account_id: str, as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False) -> None:
    """List the keys of ACCOUNT_ID (id and prefix; never the key)."""
    from meterline.kit.errors import ApiError

    db = _db()
    try:
        with transaction(db, write=False) as conn:
            keys = auth_service.list_keys(conn, account_id=account_id.lower())
    except ApiError as exc:
        fail(exc.message)
    finally:
        db.dispose()
    if as_json:
        for k in keys:
            typer.echo(json.dumps(k))
        return
    table = Table("keyId", "prefix", "createdAt", "revokedAt")
    for k in keys:
        table.add_row(k["keyId"], k["prefix"], k["createdAt"], k["revokedAt"] or "")
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke KEY_ID: its tokens stop working within seconds."""
    from meterline.kit.errors import ApiError

    db = _db()
    try:
        with transaction(db) as conn:
            auth_service.revoke_key(conn, key_id=key_id.lower())
    except ApiError as exc:
        fail(exc.message)
    finally:
        db.dispose()
    typer.echo(f"revoked {key_id.lower()}")


invoices_app = typer.Typer(help="Invoices.", no_args_is_help=True)
app.add_typer(invoices_app, name="invoices")


@invoices_app.command("close")
def invoices_close(
    until: Annotated[str | None, typer.Option("--until", help="ISO 8601 instant (default: now)")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Only this account id")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per issued invoice")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm an --until in the future")] = False,
) -> None:
    """Issue every invoice whose billing cycle ends at or before --until (idempotent).

    An --until in the future issues (and freezes) invoices before their cycle has ended:
    it needs --yes."""
    from meterline.invoices.job import close_until
    from meterline.kit.errors import ApiError
    from meterline.kit.times import iso_us, now_us, parse_instant, to_us

    try:
        until_us = now_us() if until is None else to_us(parse_instant(until, param="until"))
    except ApiError as exc:
        fail(exc.message)
    if until_us > now_us() and not yes:
        fail(f"--until {iso_us(until_us)} is in the future: invoices would be issued before their cycle ends; "
             "add --yes to do it anyway")
    db = _db()
    try:
        issued = close_until(db, until=until_us, account_id=None if account is None else account.lower())
    finally:
        db.dispose()
    for item in issued:
        row = {
            "invoiceId": item.invoice_id,
            "contractId": item.contract_id,
            "startTime": iso_us(item.cycle.start),
            "endTime": iso_us(item.cycle.end),
            "total": str(item.amounts.total),
        }
        typer.echo(json.dumps(row) if as_json else " ".join(f"{k}={v}" for k, v in row.items()))
    log.info(f"issued {len(issued)} invoice(s) up to {iso_us(until_us)}", issued=len(issued))


def main() -> None:
    from meterline.logs import configure_logging

    configure_logging("INFO")  # until the settings are read: even their error is a JSON line
    app()
