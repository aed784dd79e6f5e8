"""All SQL of meter rollups. Every query filters on account_id (and meter_id)."""

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meterline.db.tables.metering import meter_distinct, meter_rollups
from meterline.kit.jsonenc import decimal_text
from meterline.meters.rollups import Acc, Key

_R = meter_rollups.c
_D = meter_distinct.c
_CHUNK = 400
_STATE = ("n", "nv", "total", "vmin", "vmax", "first_ts", "first_ref", "first_val", "last_ts", "last_ref", "last_val")


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _txt(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def acc_from_row(r: Any) -> Acc:
    first = (r.first_ts, r.first_ref, Decimal(r.first_val)) if r.first_ts is not None else None
    last = (r.last_ts, r.last_ref, Decimal(r.last_val)) if r.last_ts is not None else None
    return Acc(r.n, r.nv, Decimal(r.total), _dec(r.vmin), _dec(r.vmax), first, last)


def _acc_values(acc: Acc) -> dict[str, Any]:
    f, la = acc.first, acc.last
    return {
        "n": acc.n,
        "nv": acc.nv,
        "total": decimal_text(acc.total),
        "vmin": _txt(acc.vmin),
        "vmax": _txt(acc.vmax),
        "first_ts": f[0] if f else None,
        "first_ref": f[1] if f else None,
        "first_val": decimal_text(f[2]) if f else None,
        "last_ts": la[0] if la else None,
        "last_ref": la[1] if la else None,
        "last_val": decimal_text(la[2]) if la else None,
    }


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _mine(account_id: str, meter_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(_R.account_id == account_id, _R.meter_id == meter_id)


def load_accs(conn: sa.Connection, account_id: str, meter_id: str, keys: Sequence[Key]) -> dict[Key, Acc]:
    out: dict[Key, Acc] = {}
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        rows = conn.execute(
            sa.select(_R.alias, _R.level, _R.bucket, _R.instance, *[_R[c] for c in _STATE]).where(
                _mine(account_id, meter_id), sa.tuple_(_R.alias, _R.level, _R.bucket, _R.instance).in_(chunk)
            )
        )
        for r in rows:
            out[(r.alias, r.level, r.bucket, r.instance)] = acc_from_row(r)
    return out


def upsert_accs(conn: sa.Connection, account_id: str, meter_id: str, accs: dict[Key, Acc]) -> None:
    if not accs:
        return
    rows = [
        {"account_id": account_id, "meter_id": meter_id, "alias": k[0], "level": k[1], "bucket": k[2], "instance": k[3]}
        | _acc_values(acc)
        for k, acc in accs.items()
    ]
    stmt = _insert(conn, meter_rollups)
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id", "meter_id", "alias", "level", "bucket", "instance"],
        set_={c: stmt.excluded[c] for c in _STATE},
    )
    conn.execute(stmt, rows)


def add_distinct(
    conn: sa.Connection, account_id: str, meter_id: str, counts: dict[tuple[str, int, int, str, str], int]
) -> None:
    if not counts:
        return
    rows = [
        {
            "account_id": account_id,
            "meter_id": meter_id,
            "alias": k[0],
            "level": k[1],
            "bucket": k[2],
            "instance": k[3],
            "value": k[4],
            "n": n,
        }
        for k, n in counts.items()
    ]
    stmt = _insert(conn, meter_distinct)
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id", "meter_id", "alias", "level", "bucket", "instance", "value"],
        set_={"n": meter_distinct.c.n + stmt.excluded.n},
    )
    conn.execute(stmt, rows)


def delete_days(
    conn: sa.Connection, account_id: str, meter_id: str, alias: str, days: Iterable[int], day_us: int
) -> None:
    """Remove the hour and day buckets of these days (before recomputing them)."""
    for table in (meter_rollups, meter_distinct):
        c = table.c
        for day in days:
            conn.execute(
                sa.delete(table).where(
                    c.account_id == account_id,
                    c.meter_id == meter_id,
                    c.alias == alias,
                    c.bucket >= day,
                    c.bucket < day + day_us,
                )
            )


def delete_meter(conn: sa.Connection, account_id: str, meter_id: str) -> None:
    for table in (meter_rollups, meter_distinct):
        conn.execute(sa.delete(table).where(table.c.account_id == account_id, table.c.meter_id == meter_id))


def _ranges(c: Any, ranges: Sequence[tuple[int, int, int]]) -> sa.ColumnElement[bool]:
    return sa.or_(*[sa.and_(c.level == lv, c.bucket >= a, c.bucket < b) for lv, a, b in ranges])


def window_accs(
    conn: sa.Connection, account_id: str, meter_id: str, aliases: Sequence[str], ranges: Sequence[tuple[int, int, int]]
) -> list[tuple[str, Acc]]:
    """(instance, state) of every bucket of these aliases in the bucket ranges."""
    if not ranges or not aliases:
        return []
    rows = conn.execute(
        sa.select(_R.instance, *[_R[c] for c in _STATE]).where(
            _mine(account_id, meter_id), _R.alias.in_(aliases), _ranges(_R, ranges)
        )
    )
    return [(r.instance, acc_from_row(r)) for r in rows]


def window_distinct(
    conn: sa.Connection, account_id: str, meter_id: str, aliases: Sequence[str], ranges: Sequence[tuple[int, int, int]]
) -> list[tuple[str, str]]:
    if not ranges or not aliases:
        return []
    rows = conn.execute(
        sa.select(_D.instance, _D.value)
        .distinct()
        .where(
            _D.account_id == account_id,
            _D.meter_id == meter_id,
            _D.alias.in_(aliases),
            _ranges(_D, ranges),
        )
    )
    return [(r.instance, r.value) for r in rows]
