"""Alembic, driven from code: `meterline migrate` and `meterline serve` call upgrade()."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from meterline.db.engine import Database

_HERE = Path(__file__).parent


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    cfg.attributes["database"] = db
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    command.upgrade(alembic_config(db), revision)
