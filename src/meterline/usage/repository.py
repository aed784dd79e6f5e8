"""All SQL of meter rollups. Every query filters on account_id (and meter_id)."""

import bisect
import itertools
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, localcontext
from operator import attrgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meterline.db.raw import driver_sql, fetch, marks
from meterline.db.tables.metering import meter_distinct, meter_rollups
from meterline.events.repository import raw_executemany
from meterline.kit.jsonenc import decimal_text
from meterline.meters.aggregation import EXACT, ZERO
from meterline.meters.rollups import Acc, Key
from meterline.meters.spec import NO_INSTANCE

_D = meter_distinct.c
_CHUNK = 400
_STATE = (
    *("n", "nv", "total", "vmin", "vmax", "first_ts", "first_ref", "first_val", "last_ts", "last_ref", "last_val"),
    *("min_ts", "max_ts"),  # the span of the bucket's events (migration 0010)
)


def _decimal_or_none(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


# Each state column's value in an Acc (decimals as exact text).
_COLUMN_OF: dict[str, Callable[[Acc], Any]] = {
    "n": attrgetter("n"),
    "nv": attrgetter("nv"),
    "total": lambda a: decimal_text(a.total),
    "vmin": lambda a: _decimal_or_none(a.vmin),
    "vmax": lambda a: _decimal_or_none(a.vmax),
    "first_ts": lambda a: a.first and a.first[0],
    "first_ref": lambda a: a.first and a.first[1],
    "first_val": lambda a: a.first and decimal_text(a.first[2]),
    "last_ts": lambda a: a.last and a.last[0],
    "last_ref": lambda a: a.last and a.last[1],
    "last_val": lambda a: a.last and decimal_text(a.last[2]),
    "min_ts": attrgetter("lo"),
    "max_ts": attrgetter("hi"),
}
# Columns read straight from an Acc attribute (one C attrgetter takes them all at once).
_PLAIN = {"n": "n", "nv": "nv", "min_ts": "lo", "max_ts": "hi"}


def _state_of(columns: Sequence[str]) -> Callable[[Acc], tuple[Any, ...]]:
    """The function giving these state columns of an Acc, as a tuple in this order."""
    if all(c in _PLAIN for c in columns):
        plain = attrgetter(*(_PLAIN[c] for c in columns))
        return plain if len(columns) > 1 else lambda a: (plain(a),)
    getters = [_COLUMN_OF[c] for c in columns]
    return lambda a: tuple([g(a) for g in getters])


_acc_tuple = _state_of(_STATE)


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


_UPSERT = (
    "INSERT INTO meter_rollups (account_id, meter_id, alias, level, bucket, instance, "
    + ", ".join(_STATE)
    + ") VALUES ("
    + ", ".join("?" * (6 + len(_STATE)))
    + ") ON CONFLICT (account_id, meter_id, alias, level, bucket, instance) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _STATE)
)


def upsert_accs(conn: sa.Connection, account_id: str, meter_id: str, accs: dict[Key, Acc]) -> None:
    if not accs:
        return
    rows = [(account_id, meter_id, *k, *_acc_tuple(acc)) for k, acc in accs.items()]
    conn.exec_driver_sql(driver_sql(conn.dialect.name, _UPSERT), rows)


def _dec_add(a: str, b: str) -> str:
    return decimal_text(EXACT.add(Decimal(a), Decimal(b)))


def _dec_min(a: str, b: str) -> str:
    return a if Decimal(a) <= Decimal(b) else b


def _dec_max(a: str, b: str) -> str:
    return a if Decimal(a) >= Decimal(b) else b


# The state columns each operator maintains (the others keep their defaults); every
# operator keeps its buckets' span (min_ts, max_ts: read by edge_buckets_whole).
_SPAN = ("min_ts", "max_ts")
_OP_COLUMNS = {
    "Count": ("n", *_SPAN),
    "Distinct": ("n", *_SPAN),
    "Sum": ("n", "nv", "total", *_SPAN),
    "Average": ("n", "nv", "total", *_SPAN),
    "Max": ("n", "nv", "vmax", *_SPAN),
    "Min": ("n", "nv", "vmin", *_SPAN),
    "First": ("n", "nv", "first_ts", "first_ref", "first_val", *_SPAN),
    "Last": ("n", "nv", "last_ts", "last_ref", "last_val", *_SPAN),
}
_KEY_COLS = "account_id, meter_id, alias, level, bucket, instance"


def _merge_sql(dialect: str, operator: str, *, setwise: bool = False) -> str:
    """Upsert that merges a delta into the stored state inside the database (no read
    back), touching only the operator's columns: counts add; sums add exactly
    (PostgreSQL numeric, or a Python function registered on the SQLite connection);
    min/max compare as decimals; first/last by (timestamp, ref) in code point order.
    `setwise` (PostgreSQL): every row of a batch in one statement (execute_merges)."""
    t = "meter_rollups"
    if dialect == "sqlite":
        add, lo, hi, coll = "ml_dec_add({a}, {b})", "ml_dec_min({a}, {b})", "ml_dec_max({a}, {b})", ""
    else:
        add = "({a}::numeric + {b}::numeric)::text"
        lo = "LEAST({a}::numeric, {b}::numeric)::text"
        hi = "GREATEST({a}::numeric, {b}::numeric)::text"
        coll = ' COLLATE "C"'

    def pick(col: str, fn: str) -> str:
        new, old = f"excluded.{col}", f"{t}.{col}"
        return f"CASE WHEN {new} IS NULL THEN {old} WHEN {old} IS NULL THEN {new} ELSE {fn.format(a=old, b=new)} END"

    def point(prefix: str, cmp: str) -> list[str]:
        new_ts, old_ts = f"excluded.{prefix}_ts", f"{t}.{prefix}_ts"
        new_ref, old_ref = f"excluded.{prefix}_ref", f"{t}.{prefix}_ref"
        better = (
            f"{new_ts} IS NOT NULL AND ({old_ts} IS NULL OR {new_ts} {cmp} {old_ts} OR "
            f"({new_ts} = {old_ts} AND {new_ref}{coll} {cmp} {old_ref}{coll}))"
        )
        return [
            f"{prefix}_{c} = CASE WHEN {better} THEN excluded.{prefix}_{c} ELSE {t}.{prefix}_{c} END"
            for c in ("ts", "ref", "val")
        ]

    sets = {
        "n": [f"n = {t}.n + excluded.n"],
        "nv": [f"nv = {t}.nv + excluded.nv"],
        "total": [
            f"total = CASE WHEN excluded.nv = 0 THEN {t}.total WHEN {t}.nv = 0 THEN excluded.total "
            f"ELSE {add.format(a=f'{t}.total', b='excluded.total')} END"
        ],
        "vmin": [f"vmin = {pick('vmin', lo)}"],
        "vmax": [f"vmax = {pick('vmax', hi)}"],
        "first_ts": point("first", "<"),
        "last_ts": point("last", ">"),
        # The span widens. Written so that a NULL stored span (a bucket written before
        # migration 0010: span unknown) stays NULL on both databases (LEAST/GREATEST
        # would skip the NULL on PostgreSQL and claim a span the old events may exceed).
        "min_ts": [f"min_ts = CASE WHEN excluded.min_ts < {t}.min_ts THEN excluded.min_ts ELSE {t}.min_ts END"],
        "max_ts": [f"max_ts = CASE WHEN excluded.max_ts > {t}.max_ts THEN excluded.max_ts ELSE {t}.max_ts END"],
    }
    cols = _OP_COLUMNS[operator]
    extra = [c for c in _DEFAULTS if c not in cols]
    insert_cols = (*cols, *extra)
    assignments = [a for c in cols for a in sets.get(c, [])]
    conflict = f"ON CONFLICT ({_KEY_COLS}) DO UPDATE SET {', '.join(assignments)}"
    if setwise:
        # One row per key of the batch, from one JSON array of rows (see _setwise_rows),
        # in the order given (sorted by key: see execute_merges).
        names = ("alias", "level", "bucket", "instance", *cols)
        picked = ", ".join([*_json_columns(names), *(_DEFAULTS[c] for c in extra)])
        return (
            f"INSERT INTO {t} ({_KEY_COLS}, {', '.join(insert_cols)}) SELECT %s, %s, {picked} "
            f"FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS u(e, ord) ORDER BY u.ord {conflict}"
        )
    values = ", ".join(["?"] * (6 + len(cols)) + [_DEFAULTS[c] for c in extra])
    return driver_sql(dialect, f"INSERT INTO {t} ({_KEY_COLS}, {', '.join(insert_cols)}) VALUES ({values}) {conflict}")


_DEFAULTS = {"nv": "0", "total": "'0'"}  # NOT NULL columns an operator may not maintain
# PostgreSQL type of each merged column (text columns need no cast).
_PG_TYPE = {
    **dict.fromkeys(
        ("alias", "instance", "value", "total", "vmin", "vmax", "first_ref", "first_val", "last_ref", "last_val"),
        "text",
    ),
    **dict.fromkeys(("bucket", "n", "nv", "first_ts", "last_ts", "min_ts", "max_ts"), "int8"),
    "level": "int2",
}


def _json_columns(names: Sequence[str]) -> list[str]:
    """The columns of a set-wise statement, taken from each row `u.e` (a JSON array)."""
    return [f"u.e->>{i}" if _PG_TYPE[c] == "text" else f"(u.e->>{i})::{_PG_TYPE[c]}" for i, c in enumerate(names)]


_MERGE = {(d, op): _merge_sql(d, op) for d in ("sqlite", "postgresql") for op in _OP_COLUMNS}
_MERGE_SETWISE = {op: _merge_sql("postgresql", op, setwise=True) for op in _OP_COLUMNS}
_OP_STATE = {op: _state_of(cols) for op, cols in _OP_COLUMNS.items()}


# A merge ready to execute: (operator, merge rows, distinct rows); built before the write
# turn (merge_rows), executed inside it (execute_merge).
MergeRows = tuple[str, list[tuple[Any, ...]], list[tuple[Any, ...]]]


def merge_rows(
    account_id: str, meter_id: str, operator: str, accs: dict[Key, Acc], distinct: dict[Any, int]
) -> MergeRows:
    """The parameter rows of execute_merge (pure)."""
    state = _OP_STATE[operator]
    rows = [(account_id, meter_id, *k, *state(acc)) for k, acc in accs.items()]
    return operator, rows, [(account_id, meter_id, *k, n) for k, n in distinct.items()]


_ADD_DISTINCT = (
    "INSERT INTO meter_distinct (account_id, meter_id, alias, level, bucket, instance, value, n) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, meter_id, alias, level, bucket, instance, value) "
    "DO UPDATE SET n = meter_distinct.n + excluded.n"
)


def execute_merge(conn: sa.Connection, merge: MergeRows) -> None:
    """Add these contributions to the stored buckets: one upsert statement per table."""
    operator, rows, distinct = merge
    dialect = conn.dialect.name
    if rows:
        if dialect == "sqlite":
            raw: Any = conn.connection.dbapi_connection
            raw.create_function("ml_dec_add", 2, _dec_add, deterministic=True)
            raw.create_function("ml_dec_min", 2, _dec_min, deterministic=True)
            raw.create_function("ml_dec_max", 2, _dec_max, deterministic=True)
        raw_executemany(conn, _MERGE[(dialect, operator)], rows)
    if distinct:
        raw_executemany(conn, driver_sql(dialect, _ADD_DISTINCT), distinct)


_ADD_DISTINCT_SETWISE = (
    "INSERT INTO meter_distinct (account_id, meter_id, alias, level, bucket, instance, value, n) "
    f"SELECT %s, %s, {', '.join(_json_columns(('alias', 'level', 'bucket', 'instance', 'value', 'n')))} "
    "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS u(e, ord) ORDER BY u.ord "
    "ON CONFLICT (account_id, meter_id, alias, level, bucket, instance, value) "
    "DO UPDATE SET n = meter_distinct.n + excluded.n"
)


def execute_merges(conn: sa.Connection, merges: Sequence[MergeRows]) -> None:
    """Add a batch's contributions to the stored buckets of each of its meters.

    SQLite: execute_merge for each (its writers hold the database lock). PostgreSQL,
    where batches of one account merge concurrently (under the shared account lock): one
    statement per meter and table, all rows of a batch in one JSON parameter. Every
    transaction takes the rows it updates in one global order — meter_rollups before
    meter_distinct, meters by id, keys sorted — so two batches touching the same buckets
    wait for each other and never deadlock; ON CONFLICT DO UPDATE then adds to the row
    the other one committed (no update lost)."""
    if conn.dialect.name != "postgresql":
        for merge in merges:
            execute_merge(conn, merge)
        return
    ordered = sorted((m for m in merges if m[1] or m[2]), key=_merge_meter)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for operator, rows, _ in ordered:
            if rows:
                cursor.execute(_MERGE_SETWISE[operator], _setwise_rows(rows))
        for _, _, distinct in ordered:
            if distinct:
                cursor.execute(_ADD_DISTINCT_SETWISE, _setwise_rows(distinct))
    finally:
        cursor.close()


def _merge_meter(merge: MergeRows) -> str:
    first = merge[1][0] if merge[1] else merge[2][0]
    return str(first[1])


def _setwise_rows(rows: list[tuple[Any, ...]]) -> list[Any]:
    """Parameters of a set-wise statement: account_id, meter_id (shared by the rows), then
    the rows' other columns as one JSON array of arrays, rows sorted by their key (the
    columns after meter_id, before the state). JSON, not one array parameter per column:
    orjson writes it in C, where psycopg dumps arrays element by element in Python (~10x
    the time, measured on a 2000-row batch). The values are ints, exact decimal texts and
    strings: JSON carries each exactly."""
    # The rows share account_id and meter_id and their keys are unique: sorting whole
    # rows sorts them by key (the state after the key is never compared).
    return [rows[0][0], rows[0][1], orjson.dumps([r[2:] for r in sorted(rows)]).decode()]


def add_distinct(
    conn: sa.Connection, account_id: str, meter_id: str, counts: dict[tuple[str, int, int, str, str], int]
) -> None:
    if counts:
        execute_merge(conn, merge_rows(account_id, meter_id, "Distinct", {}, counts))


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


def delete_some(conn: sa.Connection, account_id: str, meter_id: str, limit: int) -> int:
    """Delete up to `limit` rows of each rollup table of this rollup id (a dropped one, in
    chunks: no long write transaction); answers the rows deleted."""
    deleted = 0
    for table, key in ((meter_rollups, _KEY_COLS), (meter_distinct, _KEY_COLS + ", value")):
        keys = fetch(
            conn,
            f"SELECT {key} FROM {table.name} WHERE account_id = ? AND meter_id = ? LIMIT ?",
            (account_id, meter_id, limit),
        )
        if keys:
            where = " AND ".join(f"{c} = ?" for c in key.split(", "))
            raw_executemany(conn, driver_sql(conn.dialect.name, f"DELETE FROM {table.name} WHERE {where}"), keys)
            deleted += len(keys)
    return deleted


Part = tuple[int, str, Sequence[tuple[int, int, int]]]  # (tag, meter_id, bucket ranges)
_MAX_TERMS = 400  # SQLite allows 500 terms in one compound SELECT
_MAX_PARAMS = 30_000  # SQLite allows 32766 parameters


def _union(select: str, account_id: str, aliases: Sequence[str], parts: Sequence[Part]) -> list[tuple[str, list[Any]]]:
    """One indexed range scan per (meter, level, bucket range), glued with UNION ALL and
    tagged with the request's number: one round trip, and never an OR of ranges (which
    makes SQLite scan every bucket of the alias, i.e. its whole history). Chunked into
    several statements only past SQLite's limits."""
    terms = [(tag, meter_id, r) for tag, meter_id, ranges in parts for r in ranges]
    per = max(1, min(_MAX_TERMS, _MAX_PARAMS // (6 + len(aliases))))
    out = []
    for i in range(0, len(terms), per):
        chunk = terms[i : i + per]
        params = [v for tag, meter_id, r in chunk for v in (tag, account_id, meter_id, *aliases, *r)]
        out.append((_union_sql(select, len(aliases), len(chunk)), params))
    return out


# Statement texts of the reads below, by shape (the same few shapes recur: built once).
_STATEMENTS: dict[tuple[Any, ...], str] = {}


def _unioned(one: str, n_terms: int) -> str:
    """n_terms copies of one statement glued with UNION ALL, kept by text and count."""
    key = (one, n_terms)
    sql = _STATEMENTS.get(key)
    if sql is None:
        if len(_STATEMENTS) >= 1024:
            _STATEMENTS.clear()
        sql = _STATEMENTS[key] = " UNION ALL ".join([one] * n_terms)
    return sql


def _union_sql(select: str, n_aliases: int, n_terms: int) -> str:
    """The text of _union's statement."""
    one = (
        f"SELECT ? AS tag, {select} WHERE account_id = ? AND meter_id = ? "
        f"AND alias IN ({marks(n_aliases)}) AND level = ? AND bucket >= ? AND bucket < ?"
    )
    return _unioned(one, n_terms)


# One term of edge_buckets_whole: the stored buckets of one hour whose events are not all
# inside [a, b) (a NULL span, written before migration 0010, counts as not inside).
_EDGE_ONE = (
    "SELECT ? AS tag, ? AS a, COUNT(*) FROM meter_rollups WHERE account_id = ? AND meter_id = ? "
    "AND alias IN ({aliases}) AND level = 0 AND bucket = ? "
    "AND (min_ts IS NULL OR max_ts IS NULL OR min_ts < ? OR max_ts >= ?)"
)


def edge_buckets_whole(
    conn: sa.Connection,
    account_id: str,
    aliases: Sequence[str],
    parts: Sequence[tuple[int, str, Sequence[tuple[int, int]]]],
    hour_us: int,
) -> set[tuple[int, int]]:
    """Which partial edge hours may be read from their buckets: of each part's (tag,
    rollup id, [a, b) ranges, each within one hour), the (tag, a) whose hour bucket has,
    for every alias and instance, all its events' timestamps in [a, b) (by the bucket's
    stored span min_ts..max_ts). An hour with no bucket qualifies (it holds no event).
    One UNION ALL of primary-key lookups, one count per range."""
    terms = [(tag, rid, r) for tag, rid, ranges in parts for r in ranges]
    if not terms or not aliases:
        return set()
    one = _EDGE_ONE.format(aliases=marks(len(aliases)))
    whole: set[tuple[int, int]] = set()
    per = max(1, min(_MAX_TERMS, _MAX_PARAMS // (7 + len(aliases))))
    for i in range(0, len(terms), per):
        chunk = terms[i : i + per]
        params = [v for tag, rid, (a, b) in chunk for v in (tag, a, account_id, rid, *aliases, a - a % hour_us, a, b)]
        for tag, a, outside in fetch(conn, _unioned(one, len(chunk)), params):
            if int(outside) == 0:
                whole.add((int(tag), int(a)))
    return whole


_POINT_COLS = "n, nv, first_ts, first_ref, first_val, last_ts, last_ref, last_val"


def _acc_of_point_row(n: int, nv: int, f_ts: Any, f_ref: Any, f_val: Any, l_ts: Any, l_ref: Any, l_val: Any) -> Acc:
    first = (f_ts, f_ref, Decimal(f_val)) if f_ts is not None else None
    last = (l_ts, l_ref, Decimal(l_val)) if l_ts is not None else None
    return Acc(n, nv, first=first, last=last)


def windows_accs(
    conn: sa.Connection, account_id: str, aliases: Sequence[str], parts: Sequence[Part]
) -> list[tuple[int, str, Acc]]:
    """(tag, instance, state) of every bucket of these aliases in each part's ranges, with
    the counts and the first and last points only (what First and Last meters need)."""
    if not aliases:
        return []
    out = []
    for sql, params in _union(f"instance, {_POINT_COLS} FROM meter_rollups", account_id, aliases, parts):
        for tag, inst, *row in fetch(conn, sql, params):
            out.append((tag, inst, _acc_of_point_row(*row)))
    return out


# One term of windows_point_flat per bucket order: the earliest (ASC) or latest (DESC) bucket.
_POINT_ONES = {
    order: (
        f"SELECT * FROM (SELECT ? AS tag, {_POINT_COLS} FROM meter_rollups WHERE account_id = ? "
        "AND meter_id = ? AND alias = ? AND level = ? AND bucket >= ? AND bucket < ? AND nv > 0 "
        f"ORDER BY bucket {order} LIMIT 1) AS p"
    )
    for order in ("ASC", "DESC")
}


def windows_point_flat(
    conn: sa.Connection, account_id: str, aliases: Sequence[str], parts: Sequence[Part], *, last: bool
) -> list[tuple[int, str, Acc]]:
    """For First (last=False) or Last meters without an instanceKey: per part, bucket range
    and alias, only the earliest or latest bucket holding a valued event. The buckets of a
    level partition time, so that bucket holds the range's first or last point (one
    descent of the key, where windows_accs reads every bucket: 24 -> 8 µs for the bench's
    Last meter); callers merge the rows (Acc.merge settles ties between aliases). Each
    state's counts are its bucket's, not the range's: they only say that it has a value."""
    if not aliases:
        return []
    out, parts = _point_series(conn, account_id, aliases, parts, last=last)
    terms = [(tag, meter_id, alias, r) for tag, meter_id, ranges in parts for r in ranges for alias in aliases]
    for i in range(0, len(terms), _MAX_TERMS):
        chunk = terms[i : i + _MAX_TERMS]
        sql = _unioned(_POINT_ONES["DESC" if last else "ASC"], len(chunk))
        params = [v for tag, meter_id, alias, r in chunk for v in (tag, account_id, meter_id, alias, *r)]
        for tag, *row in fetch(conn, sql, params):
            out.append((tag, NO_INSTANCE, _acc_of_point_row(*row)))
    return out


_SERIES_RANGES = 4  # disjoint ranges of one meter and level read by one scan, not a descent each


def _point_series(
    conn: sa.Connection, account_id: str, aliases: Sequence[str], parts: Sequence[Part], *, last: bool
) -> tuple[list[tuple[int, str, Acc]], list[Part]]:
    """windows_point_flat for a series (a chart's days: many disjoint ranges of one meter
    and level): one range scan over their span, each bucket given to the range holding it,
    instead of one LIMIT 1 descent per range and alias (182 terms took PostgreSQL ~50 ms,
    most of it planning). Answers the rows and the parts left to the descents."""
    by: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
    for tag, meter_id, ranges in parts:
        for level, lo, hi in ranges:
            by.setdefault((meter_id, level), []).append((lo, hi, tag))
    scanned: set[tuple[str, int]] = set()
    out: list[tuple[int, str, Acc]] = []
    for (meter_id, level), spans in by.items():
        spans.sort()
        if len(spans) < _SERIES_RANGES or any(b[0] < a[1] for a, b in itertools.pairwise(spans)):
            continue
        scanned.add((meter_id, level))
        starts = [lo for lo, _, _ in spans]
        best: dict[tuple[int, str], tuple[int, tuple[Any, ...]]] = {}
        sql = (
            f"SELECT alias, bucket, {_POINT_COLS} FROM meter_rollups WHERE account_id = ? AND meter_id = ? "
            f"AND alias IN ({marks(len(aliases))}) AND level = ? AND bucket >= ? AND bucket < ? AND nv > 0"
        )
        params = [account_id, meter_id, *aliases, level, spans[0][0], spans[-1][1]]
        for alias, bucket, *row in fetch(conn, sql, params):
            i = bisect.bisect_right(starts, bucket) - 1
            if i < 0 or bucket >= spans[i][1]:
                continue
            key = (i, alias)
            held = best.get(key)
            if held is None or (bucket > held[0] if last else bucket < held[0]):
                best[key] = (bucket, tuple(row))
        out += [(spans[i][2], NO_INSTANCE, _acc_of_point_row(*row)) for (i, _), (_, row) in sorted(best.items())]
    rest = [(tag, meter_id, [r for r in ranges if (meter_id, r[0]) not in scanned]) for tag, meter_id, ranges in parts]
    return out, [p for p in rest if p[2]]


def _decimals(text: str | None) -> list[Decimal]:
    return [] if text is None else [Decimal(x) for x in text.split(" ")]


# A zero total adds nothing (stored texts are plain: zero is '0'), and it is what Max and
# Min meters keep in that column: left out, it is not joined, sent and parsed for nothing.
_SUMMED_CASES = (
    "CASE WHEN nv > 0 AND total <> '0' THEN total END",
    "CASE WHEN nv > 0 THEN vmin END",
    "CASE WHEN nv > 0 THEN vmax END",
)
_SUMMED_COLS = {
    dialect: ", ".join(agg.format(c=case) for case in _SUMMED_CASES)
    for dialect, agg in (("sqlite", "GROUP_CONCAT({c}, ' ')"), ("postgresql", "STRING_AGG({c}, ' ')"))
}


def _summed_acc(n: Any, nv: Any, totals: str | None, lows: str | None, highs: str | None) -> Acc:
    acc = Acc(int(n), int(nv))
    if totals is not None:
        with localcontext(EXACT):
            acc.total = sum(_decimals(totals), ZERO)
    if lows is not None:
        acc.vmin = min(_decimals(lows))
    if highs is not None:
        acc.vmax = max(_decimals(highs))
    return acc


def windows_summed(
    conn: sa.Connection, account_id: str, aliases: Sequence[str], parts: Sequence[Part]
) -> list[tuple[int, str, Acc]]:
    """(tag, instance, state) per part and instance, summed over the part's buckets: counts
    add in SQL; sums, minima and maxima (exact decimals, stored as text) come back
    space-joined and are combined here. First and last points are left out (windows_accs)."""
    if not aliases:
        return []
    cols = _SUMMED_COLS[conn.dialect.name]
    out = []
    for sql, params in _union("instance, n, nv, total, vmin, vmax FROM meter_rollups", account_id, aliases, parts):
        grouped = f"SELECT tag, instance, SUM(n), SUM(nv), {cols} FROM ({sql}) AS u GROUP BY tag, instance"
        for tag, inst, n, nv, totals, lows, highs in fetch(conn, grouped, params):
            out.append((tag, inst, _summed_acc(n, nv, totals, lows, highs)))
    return out


def windows_summed_flat(
    conn: sa.Connection, account_id: str, aliases: Sequence[str], parts: Sequence[Part]
) -> list[tuple[int, str, Acc]]:
    """windows_summed for meters without an instanceKey, whose buckets all have the instance
    NO_INSTANCE: one aggregate per bucket range, no GROUP BY (SQLite sorts for a GROUP BY:
    measured 52 -> 39 µs for the bench customer's three meters); a part may come back as
    several rows (one per range), which callers merge."""
    if not aliases:
        return []
    select = f"SUM(n), SUM(nv), {_SUMMED_COLS[conn.dialect.name]} FROM meter_rollups"
    out = []
    for sql, params in _union(select, account_id, aliases, parts):
        for tag, n, nv, totals, lows, highs in fetch(conn, sql, params):
            if n is not None:  # None: no bucket in that range
                out.append((tag, NO_INSTANCE, _summed_acc(n, nv, totals, lows, highs)))
    return out


def windows_distinct(
    conn: sa.Connection, account_id: str, aliases: Sequence[str], parts: Sequence[Part]
) -> list[tuple[int, str, str]]:
    """(tag, instance, value) of every distinct value of these aliases in each part's ranges."""
    if not aliases:
        return []
    out = []
    for sql, params in _union("instance, value FROM meter_distinct", account_id, aliases, parts):
        out += fetch(conn, sql, params)
    return out


_MAX_EXTRA = 2000  # edge values sent along with a distinct count


def distinct_counts(
    conn: sa.Connection, account_id: str, aliases: Sequence[str], parts: Sequence[Part], *, flat: bool
) -> dict[int, int] | None:
    """{tag: number of distinct (instance, value) pairs in that part's buckets} for many
    parts (a day-by-day series of one Distinct meter) in ONE statement: the tagged range
    scans of _union, deduplicated per tag and counted (parts without a value are absent).
    None when the parts do not fit one statement (callers then count part by part)."""
    if not aliases or not parts:
        return {}
    column = "value" if flat else "instance, value"
    chunks = _union(f"{column} FROM meter_distinct", account_id, aliases, parts)
    if len(chunks) != 1:
        return None
    sql, params = chunks[0]
    rows = fetch(
        conn, f"SELECT tag, COUNT(*) FROM (SELECT DISTINCT tag, {column} FROM ({sql}) AS u) AS d GROUP BY tag", params
    )
    return {int(tag): int(n) for tag, n in rows}


def distinct_count(
    conn: sa.Connection,
    account_id: str,
    aliases: Sequence[str],
    meter_id: str,
    ranges: Sequence[tuple[int, int, int]],
    extra: Sequence[tuple[str, str]],
    *,
    flat: bool = False,
) -> int | None:
    """The number of distinct (instance, value) pairs in these buckets and in `extra`
    together, counted in SQL (a UNION of indexed range scans: no value comes back); None
    when that does not fit in one statement (callers then use windows_distinct).

    `flat`: the meter has no instanceKey (every instance is NO_INSTANCE), so values alone
    are united: narrower rows for the UNION's temporary b-tree (88 -> 73 µs for the bench
    customer's ~310 values)."""
    if not aliases:
        return len(set(extra))
    column = "value" if flat else "instance, value"
    one = (
        f"SELECT {column} FROM meter_distinct WHERE account_id = ? AND meter_id = ? "
        f"AND alias IN ({marks(len(aliases))}) AND level = ? AND bucket >= ? AND bucket < ?"
    )
    if not ranges or len(extra) > _MAX_EXTRA or len(ranges) * (5 + len(aliases)) > _MAX_PARAMS:
        return None
    terms = [one] * len(ranges)
    params: list[Any] = [v for r in ranges for v in (account_id, meter_id, *aliases, *r)]
    if extra:
        terms.append("VALUES " + ", ".join(["(?)" if flat else "(?, ?)"] * len(extra)))
        params += [value for _, value in extra] if flat else [v for pair in extra for v in pair]
    if len(terms) == 1:  # a UNION dedupes; one term alone must say so (one value, several aliases)
        terms[0] = terms[0].replace("SELECT ", "SELECT DISTINCT ", 1)
    rows = fetch(conn, f"SELECT COUNT(*) FROM ({' UNION '.join(terms)}) AS d", params)
    return int(rows[0][0]) if rows else 0  # no row: a db.raw.Recorder's answer
