"""Usage: a meter's value over a window, from rollups plus at most the partial hours at
the window's edges (only those whose bucket also holds events outside the window) plus the
events not yet folded into the rollups (the backlog, usage/backlog.py); and the maintenance
of those rollups (the folder's merges, deletes). Whole rebuilds run in the background
(meters/rebuilds.py); a meter's rollups are those of its `rollup_id` (rollup_of).

Callers own the transaction. Deltas are merged inside the database (a few set-wise upserts
per chunk: concurrent folders of one account add up, never lose an update), under the
account's shared lock (events.repository.lock_account_shared); an account's
recomputations (deletes, drop, a rebuild's start) take the exclusive one (lock_account),
so no merge interleaves with them.
"""

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from meterline.events import repository as events_repo
from meterline.kit import jsonenc
from meterline.kit.errors import NotFound
from meterline.meters import rebuilds
from meterline.meters import repository as meters_repo
from meterline.meters.aggregation import ZERO
from meterline.meters.rollups import DAY_US, HOUR_US, Acc, compute, finalize, windows
from meterline.meters.spec import MeterSpec, compile_meter
from meterline.usage import backlog_repository as backlog_repo
from meterline.usage import merge_repository as merges
from meterline.usage import repository as repo
from meterline.usage import unfolded

_SPECS: dict[tuple[str, int, int], MeterSpec] = {}


def spec_of(row: dict[str, Any]) -> MeterSpec:
    """The compiled meter of a meters row (cached by id, version and update time); the
    row holds `doc` (parsed) or `doc_text` (parsed only when not cached)."""
    key = (row["id"], row["version"], row["updated_at"])
    spec = _SPECS.get(key)
    if spec is None:
        if len(_SPECS) > 4096:
            _SPECS.clear()
        doc = row["doc"] if "doc" in row else jsonenc.loads(row["doc_text"])
        spec = _SPECS[key] = compile_meter(doc)
    return spec


def _data(text: str | None) -> Any:
    return None if text is None else jsonenc.loads(text)


# -- maintenance ---------------------------------------------------------------------


MeterKeys = tuple[tuple[Any, ...], ...]
# One rollup merge per meter selecting some of the events (repository rows, ready to run).
Plan = list[merges.MergeRows]


def meter_keys(meters: Sequence[dict[str, Any]]) -> MeterKeys:
    """What a plan depends on: each live meter's id, version, update time, event name and
    the rollup ids it merges into (live and building)."""
    return tuple((r["id"], r["version"], r["updated_at"], r["event_name"], *targets(r)) for r in meters)


def targets(row: dict[str, Any]) -> list[str]:
    """The rollup ids new events of a meter merge into: the live one and, while a rebuild
    runs, the one it fills (meters/rebuild.py)."""
    return [rid for rid in (row["rollup_id"], row["build_id"]) if rid is not None]


def plan_inserted(
    account_id: str, meters: Sequence[dict[str, Any]], inserted: Sequence[tuple[int, str, str, str, Any]]
) -> Plan:
    """The rollup merges of these events, (ts, ref, alias, name, data), for these meter rows
    (pure: callers may compute it before their write transaction, see meter_keys)."""
    by_name: dict[str, list[tuple[int, str, str, Any]]] = {}
    for ts, ref, alias, name, data in inserted:
        by_name.setdefault(name, []).append((ts, ref, alias, data))
    plan: Plan = []
    for row in meters:
        evs = by_name.get(row["event_name"])
        if evs:
            spec = spec_of(row)
            delta = compute(spec, evs)
            for rid in targets(row):
                plan.append(merges.merge_rows(account_id, rid, spec.operator, delta.accs, delta.distinct))
    return plan


def apply_plan(conn: sa.Connection, plan: Plan) -> None:
    """Merge the planned contributions into the stored buckets (inside the database).
    Callers hold the account's shared lock (events.repository.lock_account_shared)."""
    merges.execute_merges(conn, plan)


def on_inserted(
    conn: sa.Connection,
    account_id: str,
    meters: Sequence[dict[str, Any]],
    inserted: Sequence[tuple[int, str, str, str, Any]],
) -> None:
    """Roll up newly stored events: (ts, ref, alias, name, data) for these meter rows."""
    apply_plan(conn, plan_inserted(account_id, meters, inserted))


def recompute_days(
    conn: sa.Connection, account_id: str, meter_row: dict[str, Any], alias_days: dict[str, set[int]]
) -> None:
    """Rebuild the hour and day buckets of these (alias, day)s from the stored events."""
    spec = spec_of(meter_row)
    rid = rollup_of(meter_row)
    if rid is None:
        return
    for alias, days in alias_days.items():
        merges.delete_days(conn, account_id, rid, alias, sorted(days), DAY_US)
        ranges = [(d, d + DAY_US) for d in sorted(days)]
        rows = events_repo.in_ranges(conn, account_id, spec.event_name, [alias], ranges)
        delta = compute(spec, ((ts, ref, al, _data(d)) for ts, ref, al, d in rows))
        merges.upsert_accs(conn, account_id, rid, delta.accs)
        merges.add_distinct(conn, account_id, rid, delta.distinct)


def on_deleted(conn: sa.Connection, account_id: str, deleted: Sequence[dict[str, Any]]) -> None:
    """After deleting event rows (dicts with name, customer_alias, ts): fix their buckets."""
    if not deleted:
        return
    # Under the account's exclusive lock (events.service.delete_by_refs): no folder bumps
    # these rows meanwhile. Every alias counts, whether or not a live rollup covers it.
    backlog_repo.bump_generations(conn, [(account_id, e["customer_alias"]) for e in deleted])
    names = sorted({e["name"] for e in deleted})
    for meter_row in meters_repo.live_for_event_names(conn, account_id, names):
        alias_days: dict[str, set[int]] = {}
        for e in deleted:
            if e["name"] == meter_row["event_name"]:
                alias_days.setdefault(e["customer_alias"], set()).add(e["ts"] - e["ts"] % DAY_US)
        recompute_days(conn, account_id, meter_row, alias_days)
        if alias_days:  # its building rollups may hold deleted events: the rebuild starts over
            rebuilds.restart_building(conn, account_id, meter_row)


# -- reading ---------------------------------------------------------------------------


_POINT_OPERATORS = frozenset({"First", "Last"})


class EdgeMemo:
    """What a read found at its windows' edges, to predict the statements of a later read
    (db.raw.prefetched): the partial edge hours taken whole, as (item number, start of the
    range), and per Distinct item the values of its edges' stored events, sent along with
    its count. Never a source of values."""

    def __init__(self) -> None:
        self.whole: set[tuple[int, int]] = set()
        self.values: dict[int, list[tuple[str, str]]] = {}


def window_values(
    conn: sa.Connection,
    account_id: str,
    aliases: Sequence[str],
    items: Sequence[tuple[dict[str, Any], int, int]],
    *,
    found: EdgeMemo | None = None,
    assume: EdgeMemo | None = None,
) -> list[Decimal | None]:
    """Each (meter row, start_us, end_us) over these aliases; None when it has no value.

    At most six queries whatever the number of items, plus one per Distinct meter: the
    stored events of the partial edge hours; the buckets inside the windows, summed in SQL
    (per instance for meters with an instanceKey, per bucket range for the others); First
    and Last meters' bucket points (with no instanceKey, only the extreme bucket per range
    and alias, one query per operator); and per Distinct meter the count of
    distinct values, in SQL with the edges' values sent along (only counts come back:
    reading every value costs more than counting them in SQLite).

    `found`: filled with what this read found at its edges. `assume`: only to learn the
    statements a read would run (with a db.raw.Recorder for `conn`, whose answers are
    empty): its edges are taken as found then.
    """
    aliases = list(dict.fromkeys(aliases))
    specs = [spec_of(row) for row, _, _ in items]
    rids = [rollup_of(row) for row, _, _ in items]
    if not unfolded.snapshot_per_statement(conn):
        return _window_values(conn, account_id, aliases, items, specs, rids, found, assume)
    # READ COMMITTED (PostgreSQL's write transactions, the Conn of a request): every
    # statement sees the latest commits, so a fold committing between the backlog query and
    # the rollup queries would move events from the one to the other (counted twice), or
    # widen an edge hour's bucket checked as whole (with an event already waiting, or one
    # stored and folded meanwhile). Every fold or delete of the aliases' events raises their
    # generation in its transaction: the read is kept only when the generations at its end
    # are those of its start; else it runs again, and after a few such misses under the
    # account's exclusive lock (no fold or delete commits then). Events stored meanwhile and
    # not folded are in the stored events or not: counted once at most, as a later read would.
    for attempt in range(_ATTEMPTS + 1):
        if attempt == _ATTEMPTS:
            events_repo.lock_account(conn, account_id)
        if found is not None:
            found.whole.clear()
            found.values.clear()
        before = backlog_repo.generations(conn, account_id, aliases)
        out = _window_values(conn, account_id, aliases, items, specs, rids, found, assume)
        if backlog_repo.generations(conn, account_id, aliases) == before:
            return out
    raise AssertionError("unreachable")  # pragma: no cover


_ATTEMPTS = 3


def _window_values(
    conn: sa.Connection,
    account_id: str,
    aliases: list[str],
    items: Sequence[tuple[dict[str, Any], int, int]],
    specs: list[MeterSpec],
    rids: list[str | None],
    found: EdgeMemo | None,
    assume: EdgeMemo | None,
) -> list[Decimal | None]:
    backlog_rows = unfolded.backlog_rows(conn, account_id, aliases, items, rids, specs)
    plans = read_plans(
        conn,
        account_id,
        aliases,
        items,
        rids,
        assume_whole=None if assume is None else assume.whole,
        found_whole=None if found is None else found.whole,
    )
    per_instance: list[dict[str, Acc]] = [{} for _ in items]
    distinct: list[dict[str, set[str]]] = [{} for _ in items]
    edge_parts = [(k, specs[k].event_name, plans[k][0]) for k in range(len(items))]
    edges: dict[int, list[tuple[int, str, str, Any]]] = {}
    for tag, ts, ref, alias, data in events_repo.in_ranges_many(conn, account_id, aliases, edge_parts):
        edges.setdefault(tag, []).append((ts, ref, alias, _data(data)))
    unfolded.add_backlog(backlog_rows, items, rids, specs, plans, edges)
    for tag, evs in edges.items():
        delta = compute(specs[tag], evs)
        for (_alias, level, _bucket, inst), acc in delta.accs.items():
            if level == 0:
                per_instance[tag].setdefault(inst, Acc()).merge(acc)
        for _alias, level, _bucket, inst, value in delta.distinct:
            if level == 0:
                distinct[tag].setdefault(inst, set()).add(value)
    parts: dict[str, list[repo.Part]] = {"sum": [], "flat": [], "points": [], "First": [], "Last": []}
    for k, spec in enumerate(specs):
        if spec.operator == "Distinct":  # counted below, one query each
            continue
        if spec.operator in _POINT_OPERATORS:
            kind = "points" if spec.instance_key else spec.operator
        else:
            kind = "sum" if spec.instance_key else "flat"
        parts[kind].append((k, rids[k] or "", plans[k][1]))
    for tag, inst, acc in [
        *repo.windows_summed(conn, account_id, aliases, parts["sum"]),
        *repo.windows_summed_flat(conn, account_id, aliases, parts["flat"]),
        *repo.windows_accs(conn, account_id, aliases, parts["points"]),
        *repo.windows_point_flat(conn, account_id, aliases, parts["First"], last=False),
        *repo.windows_point_flat(conn, account_id, aliases, parts["Last"], last=True),
    ]:
        mine = per_instance[tag]
        if inst in mine:
            mine[inst].merge(acc)
        else:
            mine[inst] = acc
    extras: dict[int, list[tuple[str, str]]] = {}
    for k, spec in enumerate(specs):
        if spec.operator == "Distinct":
            extra = sorted((inst, v) for inst, values in distinct[k].items() for v in values)
            if assume is not None:
                extra = assume.values.get(k, [])
            elif found is not None and extra:
                found.values[k] = extra
            extras[k] = extra
    counted = _distinct_series(conn, account_id, aliases, specs, rids, plans, extras)
    out: list[Decimal | None] = []
    for k, spec in enumerate(specs):
        if k in counted:
            out.append(counted[k])
        elif spec.operator == "Distinct":
            flat = spec.instance_key is None
            out.append(_distinct(conn, account_id, aliases, rids[k] or "", plans[k][1], extras[k], flat))
        else:
            out.append(finalize(spec.operator, per_instance[k], distinct[k]))
    return out


def _distinct_series(
    conn: sa.Connection,
    account_id: str,
    aliases: Sequence[str],
    specs: Sequence[MeterSpec],
    rids: Sequence[str | None],
    plans: Sequence[tuple[list[tuple[int, int]], list[tuple[int, int, int]]]],
    extras: dict[int, list[tuple[str, str]]],
) -> dict[int, Decimal]:
    """The Distinct items without edge values (whole buckets only: a chart's days), per
    flatness in one statement (repo.distinct_counts) rather than one each; {} when only
    one such item, or when they do not fit one statement."""
    out: dict[int, Decimal] = {}
    for flat in (True, False):
        ks = [
            k
            for k, extra in extras.items()
            if not extra and rids[k] is not None and (specs[k].instance_key is None) == flat and plans[k][1]
        ]
        if len(ks) < 2:
            continue
        counts = repo.distinct_counts(
            conn, account_id, aliases, [(k, rids[k] or "", plans[k][1]) for k in ks], flat=flat
        )
        if counts is not None:
            out.update({k: Decimal(counts.get(k, 0)) for k in ks})
    return out


def rollup_of(row: dict[str, Any]) -> str | None:
    """The rollup id serving a meter row's current definition; None while its rebuild
    has not completed (its reads then compute from the stored events)."""
    rid: str | None = row["rollup_id"]
    return rid


def _by_hour(a: int, b: int) -> list[tuple[int, int]]:
    """[a, b) cut at hour boundaries (windows() gives a raw range of two hours at most)."""
    out = []
    while a < b:
        cut = a - a % HOUR_US + HOUR_US
        out.append((a, min(b, cut)))
        a = cut
    return out


def read_plans(
    conn: sa.Connection,
    account_id: str,
    aliases: Sequence[str],
    items: Sequence[tuple[dict[str, Any], int, int]],
    rids: Sequence[str | None],
    *,
    assume_whole: set[tuple[int, int]] | None = None,
    found_whole: set[tuple[int, int]] | None = None,
) -> list[tuple[list[tuple[int, int]], list[tuple[int, int, int]]]]:
    """Per item, the raw ranges read from stored events and the bucket ranges read from
    rollups (see rollups.windows). A partial edge hour whose bucket holds only events inside
    the window is moved from the raw ranges to the buckets (one query for every item: a
    heavy customer's current hour is never re-read). A meter without complete rollups
    (rebuild running) is read from its stored events alone: exact, and slower.

    The edge hours taken whole are added to `found_whole`; with `assume_whole`, those are
    taken whole instead of the answer of the check (which still runs): only to predict the
    statements of a read (with a db.raw.Recorder for `conn`), never to compute a value."""
    plans: list[tuple[list[tuple[int, int]], list[tuple[int, int, int]]]] = []
    edges = []
    for k, (_, start, end) in enumerate(items):
        if rids[k] is None:
            plans.append(([(start, end)] if start < end else [], []))
            continue
        raw, ranges = windows(start, end)
        raw = [piece for a, b in raw for piece in _by_hour(a, b)]
        plans.append((raw, ranges))
        if raw:
            edges.append((k, rids[k] or "", raw))
    whole = repo.edge_buckets_whole(conn, account_id, aliases, edges, HOUR_US) if edges else set()
    if assume_whole is not None:
        whole = assume_whole
    elif found_whole is not None:
        found_whole |= whole
    if not whole:
        return plans
    out = []
    for k, (raw, ranges) in enumerate(plans):
        kept = [(a, b) for a, b in raw if (k, a) not in whole]
        if len(kept) < len(raw):
            taken = [(a - a % HOUR_US) for a, _ in raw if (k, a) in whole]
            ranges = [*ranges, *((0, h, h + 1) for h in taken)]
        out.append((kept, ranges))
    return out


def _distinct(
    conn: sa.Connection,
    account_id: str,
    aliases: Sequence[str],
    meter_id: str,
    ranges: Sequence[tuple[int, int, int]],
    extra: Sequence[tuple[str, str]],
    flat: bool,
) -> Decimal:
    """A Distinct meter: stored buckets and the edges' (instance, value)s counted together
    in SQL, or (when that does not fit one statement) the stored values read and united here."""
    counted = repo.distinct_count(conn, account_id, aliases, meter_id, ranges, extra, flat=flat)
    if counted is not None:
        return Decimal(counted)
    values = set(extra)
    values.update(
        (inst, value) for _tag, inst, value in repo.windows_distinct(conn, account_id, aliases, [(0, meter_id, ranges)])
    )
    return Decimal(len(values))


def window_value(
    conn: sa.Connection, account_id: str, meter_row: dict[str, Any], aliases: Sequence[str], start_us: int, end_us: int
) -> Decimal | None:
    """The meter over [start_us, end_us) for these aliases; None when it has no value."""
    return window_values(conn, account_id, aliases, [(meter_row, start_us, end_us)])[0]


def _meter_row(conn: sa.Connection, account_id: str, meter_id: str) -> dict[str, Any]:
    rows = meters_repo.live_keys(conn, account_id, [meter_id])
    if not rows:
        raise NotFound(f"Meter {meter_id} not found.")
    return rows[0]


def usage(
    conn: sa.Connection, *, account_id: str, aliases: Sequence[str], meter_id: str, start_us: int, end_us: int
) -> Decimal:
    """The meter over the events of these aliases with timestamp in [start_us, end_us).

    0 for an empty window (and for operators with no value in it). Raises NotFound for a
    meter that does not exist (or was deleted) in this account.
    """
    value = window_value(conn, account_id, _meter_row(conn, account_id, meter_id), aliases, start_us, end_us)
    return ZERO if value is None else value


def usage_many(
    conn: sa.Connection, *, account_id: str, aliases: Sequence[str], requests: Sequence[tuple[str, int, int]]
) -> list[Decimal]:
    """usage() for several (meter_id, start_us, end_us) at once, in the order given."""
    rows = {r["id"]: r for r in meters_repo.live_keys(conn, account_id, sorted({m for m, _, _ in requests}))}
    items = []
    for meter_id, start_us, end_us in requests:
        row = rows.get(meter_id)
        if row is None:
            raise NotFound(f"Meter {meter_id} not found.")
        items.append((row, start_us, end_us))
    return [ZERO if v is None else v for v in window_values(conn, account_id, aliases, items)]


def meter_rows_for(conn: sa.Connection, account_id: str, names: Iterable[str]) -> list[dict[str, Any]]:
    """Live meters of these event names: id, event_name, version, updated_at, doc_text
    (use spec_of(row) for the compiled meter)."""
    return meters_repo.live_keys_for_event_names(conn, account_id, sorted(set(names)))
