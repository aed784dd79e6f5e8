"""Column types shared by every table, identical on SQLite and PostgreSQL."""

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from meterline.kit import jsonenc


class DecimalText(TypeDecorator[Decimal]):
    """Exact decimals as canonical text: SQLite has no exact NUMERIC, so one rule for both."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        return None if value is None else jsonenc.decimal_text(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class JSONDoc(TypeDecorator[Any]):
    """A JSON document stored as text, decimals kept exact in and out."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else jsonenc.dumps(value).decode()

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else jsonenc.loads(value)


def seq_column() -> sa.Column[int]:
    """Creation-order key used by cursors (INTEGER PRIMARY KEY on SQLite, BIGINT identity on PG)."""
    return sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)


def id_column() -> sa.Column[str]:
    return sa.Column("id", sa.String(24), nullable=False, unique=True)


def account_column() -> sa.Column[str]:
    return sa.Column("account_id", sa.String(24), nullable=False, index=True)
