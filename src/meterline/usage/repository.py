"""All SQL of the rollups' read side: the usage interface's window reads. Every query
filters on account_id (and meter_id). The writes are in usage.merge_repository."""

import bisect
import itertools
from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import Any

import sqlalchemy as sa

from meterline.db.raw import fetch, marks
from meterline.meters.aggregation import EXACT, ZERO
from meterline.meters.rollups import Acc
from meterline.meters.spec import NO_INSTANCE

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
