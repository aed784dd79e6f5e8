"""What every `meterline` command shares: its settings, its database, its stderr.

stderr carries JSON log lines only (meterline.logs), stdout what the command answers.
Every command logs which database it uses (password masked). A command that needs the
schema refuses, in one line and exit 1, a database that was never migrated, without
creating anything (a SQLite file is checked for before any connection opens).
"""

from pathlib import Path
from typing import NoReturn

import sqlalchemy as sa
import structlog
import typer

from meterline.config import Settings, SettingsError
from meterline.db.engine import Database, open_database
from meterline.db.migrate import is_migrated
from meterline.logs import configure_logging

log = structlog.get_logger("meterline.cli")

NOT_MIGRATED = "the database was never migrated: run `meterline migrate` first"


def fail(message: str, code: int = 1) -> NoReturn:
    """One error line on stderr, then exit `code`."""
    log.error(message)
    raise typer.Exit(code)


def settings() -> Settings:
    """The environment's settings; a bad METERLINE_* value ends the command in one line (exit 2)."""
    configure_logging("INFO")
    try:
        loaded = Settings.from_env()
    except SettingsError as exc:
        fail(f"invalid setting {exc}", 2)
    configure_logging(loaded.log_level)
    return loaded


def masked(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file of a sqlite:/// URL (None for in-memory or other backends)."""
    parsed = sa.engine.make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def open_db(loaded: Settings | None = None, *, migrated: bool = True) -> Database:
    """The configured database, logged; with `migrated`, refuse one that has no schema yet."""
    loaded = loaded or settings()
    url = loaded.database_url
    log.info("database", url=masked(url))
    path = sqlite_file(url)
    if migrated and path is not None and not path.exists():
        fail(f"no database file at {path}: {NOT_MIGRATED}")
    try:
        db = open_database(loaded)
    except Exception as exc:
        fail(f"METERLINE_DATABASE_URL: {exc}", 2)
    if migrated:
        try:
            with db.engine.connect() as conn:
                ready = is_migrated(conn)
        except sa.exc.DBAPIError as exc:
            db.dispose()
            fail(f"cannot open the database {masked(url)} ({type(exc.orig).__name__})")
        if not ready:
            db.dispose()
            fail(NOT_MIGRATED)
    return db
