"""Usage over time (`POST /v2/events/aggregation`): whose events, which groups, which path.

Two ways to a group's value (docs/semantics.md "Usage over time", cost):
- an inline meter that selects and aggregates exactly as a live stored meter (same
  eventName, operator and field, no instanceKey, no fieldArithmetic, the same criterions)
  is read from that meter's rollups through the usage interface, one window per calendar
  group: the cost depends on the number of groups, not of events, apart from the
  partial hours at the period's edges. A Count twin of the meter (same rollups, their
  event counts) tells which groups hold events.
- any other inline meter (and groupBy `event`) is computed from the stored events of the
  period with the reference aggregator (aggregation/series.py): cost proportional to them.
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from meterline.aggregation import groups, series
from meterline.aggregation import repository as repo
from meterline.aggregation.inline import InlineSpec, compile_inline, same_meter
from meterline.aggregation.schemas import AggregationRequest
from meterline.contracts.lines import iso_exact
from meterline.customers import repository as customers_repo
from meterline.events import repository as events_repo
from meterline.kit import jsonenc
from meterline.kit.errors import BadRequest, NotFound
from meterline.kit.ids import ID_PATTERN
from meterline.kit.times import now_us, parse_instant, to_us
from meterline.meters.aggregation import Event
from meterline.usage import service as usage

MAX_GROUPS = 10_000  # calendar groups in one answer (day: 27 years)
MAX_EVENT_POINTS = 10_000  # groupBy event: selected events in one answer
# More aliases than this (a wide customerIdPattern) are read from the events in chunks of
# it: the rollup reads take every alias in one IN list.
ALIAS_CHUNK = 5_000
_HEX24 = re.compile(ID_PATTERN)


def period_of(body: AggregationRequest, now: int) -> tuple[int, int]:
    """[startTime, endTime): defaults the start of the current UTC month and now."""
    p = body.period
    start = (
        to_us(parse_instant(p.startTime, param="period.startTime")) if p.startTime else groups.group_start(now, "month")
    )
    end = to_us(parse_instant(p.endTime, param="period.endTime")) if p.endTime else now
    if end <= start:
        raise BadRequest("period.endTime must be after period.startTime.", param="period.endTime")
    return start, end


def aliases_of(conn: sa.Connection, account_id: str, body: AggregationRequest, names: Sequence[str]) -> list[str]:
    """customerIdPattern (a glob over the account's aliases; `*` the whole account) or else
    customerId (a customer id, or one of its aliases: all its aliases count). 404 if none."""
    pattern = body.customerIdPattern
    if pattern is not None:
        matcher = series.glob(pattern)
        found = [a for a in repo.known_aliases(conn, account_id, names) if matcher.fullmatch(a)]
        if not found and pattern != "*":
            raise NotFound(f"No alias matches {pattern!r}.", param="customerIdPattern")
        return found
    ident = body.customerId
    if not ident:
        raise BadRequest("customerId or customerIdPattern is required", code="parameter_missing", param="customerId")
    row = customers_repo.get(conn, account_id, ident.lower()) if _HEX24.fullmatch(ident) else None
    if row is None:
        row = customers_repo.get_by_alias(conn, account_id, ident)
    if row is None:
        raise NotFound(f"No customer with id or alias {ident!r}.", param="customerId")
    return customers_repo.aliases_of(conn, account_id, row["id"])


def _events(
    conn: sa.Connection, account_id: str, aliases: Sequence[str], names: Sequence[str], start: int, end: int
) -> list[Event]:
    parts = [(i, name, [(start, end)]) for i, name in enumerate(names)]
    out = []
    for i in range(0, len(aliases), ALIAS_CHUNK):  # bounded IN lists (SQLite: 32,766 parameters)
        chunk = aliases[i : i + ALIAS_CHUNK]
        for tag, ts, ref, alias, data in events_repo.in_ranges_many(conn, account_id, chunk, parts):
            out.append(Event(names[tag], ts, ref, alias, None if data is None else jsonenc.loads(data)))
    return out


def stored_matches(conn: sa.Connection, account_id: str, body: AggregationRequest) -> dict[int, dict[str, Any]]:
    """meters[k] -> the live stored meter row whose rollups answer for it."""
    rows = usage.meter_rows_for(conn, account_id, [m.eventName for m in body.meters])
    docs = [(row, jsonenc.loads(row["doc_text"])) for row in rows]
    out = {}
    for k, meter in enumerate(body.meters):
        for row, doc in docs:
            if same_meter(meter, f"meters[{k}]", doc):
                out[k] = row
                break
    return out


def _count_twin(row: dict[str, Any]) -> dict[str, Any]:
    """The same stored meter read as Count: its rollups' event counts (cached apart)."""
    doc = jsonenc.loads(row["doc_text"])
    doc["aggregationMethod"] = {**doc["aggregationMethod"], "operator": "Count"}
    return {**row, "version": ("count", row["version"]), "doc": doc}


def _rollup_columns(
    conn: sa.Connection,
    account_id: str,
    aliases: Sequence[str],
    matched: dict[int, dict[str, Any]],
    specs: Sequence[InlineSpec],
    windows: Sequence[series.Window],
    *,
    fill: bool,
) -> dict[int, series.Column]:
    # Which groups hold events matters only without fillDates (series.points): with it, the
    # Count twin's reads are skipped and every group counts as holding events.
    step = 1 if fill else 2
    items: list[tuple[dict[str, Any], int, int]] = []
    for k, row in matched.items():
        twin = row if specs[k].operator == "Count" else _count_twin(row)
        for _, a, b in windows:
            items += [(row, a, b)] if fill else [(row, a, b), (twin, a, b)]
    values = usage.window_values(conn, account_id, aliases, items) if items else []
    out: dict[int, series.Column] = {}
    i = 0
    for k in matched:
        col: series.Column = []
        for _ in windows:
            n = values[i + 1] if not fill else None
            col.append((values[i], fill or (n is not None and n > 0)))
            i += step
        out[k] = col
    return out


def query(conn: sa.Connection, *, account_id: str, body: AggregationRequest) -> dict[str, Any]:
    """The answer `{period, dataPoints: [{group, values: {key: number}}], groupBy}`."""
    specs = [compile_inline(m, f"meters[{k}]") for k, m in enumerate(body.meters)]
    keys = [m.key for m in body.meters]
    if len(set(keys)) != len(keys):
        raise BadRequest("Each meter needs its own key.", param="meters")
    start, end = period_of(body, now_us())
    names = sorted({s.event_name for s in specs})
    aliases = aliases_of(conn, account_id, body, names)
    by = body.groupBy
    if by == "event":
        labels, columns = series.by_event(specs, _events(conn, account_id, aliases, names, start, end))
        if len(labels) > MAX_EVENT_POINTS:
            raise BadRequest(
                f"More than {MAX_EVENT_POINTS} events in the period: narrow it or group by day.", param="period"
            )
    else:
        if groups.count(start, end, by) > MAX_GROUPS:
            raise BadRequest(f"More than {MAX_GROUPS} {by} groups in the period.", param="period")
        windows = list(groups.windows(start, end, by))
        labels = [label for label, _, _ in windows]
        matched = stored_matches(conn, account_id, body) if len(aliases) <= ALIAS_CHUNK else {}
        by_rollups = _rollup_columns(conn, account_id, aliases, matched, specs, windows, fill=bool(body.fillDates))
        rest = sorted({specs[k].event_name for k in range(len(specs)) if k not in matched})
        evs = _events(conn, account_id, aliases, rest, start, end) if rest else []
        columns = [by_rollups[k] if k in matched else series.column(s, evs, windows) for k, s in enumerate(specs)]
    return {
        "period": {"startTime": iso_exact(start), "endTime": iso_exact(end)},  # nothing lost
        "dataPoints": series.points(labels, keys, columns, fill=bool(body.fillDates)),
        "groupBy": by,
    }
