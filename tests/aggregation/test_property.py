"""Property: the endpoint's answer equals grouping the events in Python and aggregating each
group with the reference aggregator (meters.aggregation.aggregate), whichever path answers
(a matching stored meter's rollups, or the stored events), on SQLite and PostgreSQL."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterline.kit import jsonenc
from meterline.kit.times import from_us, to_us
from meterline.meters.aggregation import EXACT, Event, aggregate, value_or_zero
from tests.aggregation.test_groups import _label
from tests.metering.factories import post_json

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_H = 24 * 200
OPS = ["Count", "Sum", "Distinct", "Max", "Min", "Average", "First", "Last"]
_RUN = itertools.count()

numbers = st.one_of(st.none(), st.decimals(min_value=-50, max_value=50, places=2, allow_nan=False))
events_st = st.lists(
    st.tuples(st.integers(0, SPAN_H), st.integers(0, 59), numbers, numbers, st.sampled_from("ab"), st.integers(0, 2)),
    max_size=25,
)
meters_st = st.lists(
    st.tuples(st.sampled_from(OPS), st.booleans(), st.booleans(), st.booleans()), min_size=1, max_size=3
)
period_st = st.tuples(st.integers(-48, SPAN_H), st.integers(1, SPAN_H + 96))


def _data(v: Decimal | None, w: Decimal | None, tag: str) -> dict[str, Any]:
    out: dict[str, Any] = {"tag": tag}
    if v is not None:
        out["v"] = v
    if w is not None:
        out["w"] = w
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=events_st,
    meters=meters_st,
    period=period_st,
    by=st.sampled_from(["event", "day", "month", "quarter", "year"]),
    fill=st.booleans(),
)
def test_answer_equals_the_reference(
    api: TestClient,
    raw: list[tuple[int, int, Decimal | None, Decimal | None, str, int]],
    meters: list[tuple[str, bool, bool, bool]],
    period: tuple[int, int],
    by: str,
    fill: bool,
) -> None:
    run = next(_RUN)
    name, aliases = f"call{run}", [f"c{run}-a", f"c{run}-b", f"stranger{run}"]
    resp = api.post("/customers", json={"name": f"C{run}", "aliases": aliases[:2]})
    assert resp.status_code == 200, resp.text
    wire = [
        {
            "name": name,
            "timestamp": (T0 + timedelta(hours=h, minutes=m)).isoformat(),
            "customerAlias": aliases[who],
            "ref": f"r{run}-{i}",
            "data": _data(v, w, tag),
        }
        for i, (h, m, v, w, tag, who) in enumerate(raw)
    ]
    if wire:
        assert post_json(api, "/events", {"events": wire}).status_code == 200
    inline, docs = [], []
    for k, (op, filtered, arithmetic, stored) in enumerate(meters):
        agg: dict[str, Any] = {"operator": op}
        doc: dict[str, Any] = {"eventName": name, "aggregationMethod": {"operator": op}}
        if op != "Count":
            agg["field"] = "v"
            doc["aggregationMethod"]["field"] = "vw" if arithmetic else "v"
            if arithmetic:
                agg["fieldArithmetic"] = {"operator": "*", "field": "w"}
        meter: dict[str, Any] = {"key": f"m{k}", "eventName": name, "aggregation": agg}
        if filtered:
            meter["filters"] = [{"field": "tag", "operator": "eq", "value": "a"}]
            doc["filter"] = {"conditions": [{"criterions": [{"field": "tag", "operator": "Equals", "value": "a"}]}]}
        if stored and not (arithmetic and op != "Count"):  # its rollups answer for it
            made = api.post("/meters", json={"name": f"m{run}-{k}", **doc})
            assert made.status_code == 200, made.text
        inline.append(meter)
        docs.append(doc)
    start = T0 + timedelta(hours=period[0])
    end = start + timedelta(hours=period[1], minutes=30)
    body = {
        "customerId": aliases[1],
        "period": {"startTime": start.isoformat(), "endTime": end.isoformat()},
        "meters": inline,
        "groupBy": by,
        "fillDates": fill,
    }
    resp = post_json(api, "/v2/events/aggregation", body)
    assert resp.status_code == 200, resp.text
    got = jsonenc.loads(resp.content)["dataPoints"]

    a, b = to_us(start), to_us(end)
    mine = []
    for e in wire:
        data = dict(e["data"])
        if "v" in data and "w" in data:
            data["vw"] = EXACT.multiply(data["v"], data["w"])
        ts = to_us(datetime.fromisoformat(e["timestamp"]))
        if a <= ts < b and e["customerAlias"] in aliases[:2]:
            mine.append(Event(name, ts, e["ref"], e["customerAlias"], data))
    selected = [e for e in mine if any(_selects(d, e) for d in docs)]
    if by == "event":
        groups = [(e.ref, [e]) for e in sorted(selected, key=lambda e: (e.ts, e.ref))]
    else:
        labels = list(dict.fromkeys(_label(from_us(d), by) for d in _days(a, b)))
        groups = [(g, [e for e in mine if _label(from_us(e.ts), by) == g]) for g in labels]
        groups = [(g, evs) for g, evs in groups if fill or any(e in selected for e in evs)]
    want = [
        {"group": g, "values": {m["key"]: value_or_zero(aggregate(d, evs)) for m, d in zip(inline, docs, strict=True)}}
        for g, evs in groups
    ]
    assert _exact(got) == want


def _selects(doc: dict[str, Any], e: Event) -> bool:
    """The event is counted by the meter (a Count over it alone is 1)."""
    return aggregate({**doc, "aggregationMethod": {"operator": "Count"}}, [e]) == 1


def _days(a: int, b: int) -> list[int]:
    day = 86_400 * 1_000_000
    return [*list(range(a - a % day, b, day)), b - 1]


def _exact(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"group": p["group"], "values": {k: Decimal(v) for k, v in p["values"].items()}} for p in points]
