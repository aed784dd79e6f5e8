"""The pure rules of usage over time: calendar groups, the alias glob, stored-meter matching."""

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from meterline.aggregation import groups, series
from meterline.aggregation.inline import same_meter
from meterline.aggregation.schemas import InlineMeter
from meterline.kit.times import from_us, to_us

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC))
BYS = st.sampled_from(groups.CALENDAR)


def _label(dt: datetime, by: str) -> str:
    """An independent writing of the labels (SEMANTICS: 2026-11-03, 2026-11, 2026-Q4, 2026)."""
    return {
        "day": f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}",
        "month": f"{dt.year:04d}-{dt.month:02d}",
        "quarter": f"{dt.year:04d}-Q{(dt.month + 2) // 3}",
        "year": f"{dt.year:04d}",
    }[by]


def test_labels_of_the_semantics() -> None:
    at = to_us(datetime(2026, 11, 3, 17, 5, tzinfo=UTC))
    assert [groups.label(groups.group_start(at, by), by) for by in groups.CALENDAR] == [
        "2026-11-03",
        "2026-11",
        "2026-Q4",
        "2026",
    ]


@given(instants, st.integers(min_value=1, max_value=800 * 24), BYS)
def test_windows_partition_the_period(start: datetime, hours: int, by: str) -> None:
    a, b = to_us(start), to_us(start + timedelta(hours=hours))
    wins = list(groups.windows(a, b, by))
    assert len(wins) == groups.count(a, b, by)
    assert wins[0][1] == a and wins[-1][2] == b
    assert all(w[2] == n[1] for w, n in itertools.pairwise(wins))
    for label, lo, hi in wins:
        assert lo < hi and _label(from_us(lo), by) == label == _label(from_us(hi - 1), by)
    assert len({label for label, _, _ in wins}) == len(wins)


def test_glob() -> None:
    assert series.glob("*").fullmatch("anything at all")
    assert series.glob("acme-*").fullmatch("acme-eu") and not series.glob("acme-*").fullmatch("acme")
    assert series.glob("a.c").fullmatch("a.c") and not series.glob("a.c").fullmatch("abc")
    assert series.glob("*eu*").fullmatch("acme-eu-1") and not series.glob("?").fullmatch("x")


def test_stored_meter_matching() -> None:
    inline = InlineMeter.model_validate(
        {
            "key": "k",
            "eventName": "call",
            "aggregation": {"operator": "Sum", "field": "n"},
            "filters": [{"field": "r", "operator": "eq", "value": "eu"}, {"field": "n", "operator": "gt", "value": 1}],
        }
    )
    crits = [
        {"field": "n", "operator": "LargerThan", "value": "1"},
        {"field": "r", "operator": "Equals", "value": "eu"},
    ]
    stored = {
        "eventName": "call",
        "aggregationMethod": {"operator": "Sum", "field": "n"},
        "filter": {"conditions": [{"criterions": crits}]},
    }
    assert same_meter(inline, "meters[0]", stored)
    assert not same_meter(inline, "meters[0]", stored | {"eventName": "other"})
    assert not same_meter(inline, "meters[0]", stored | {"aggregationMethod": {"operator": "Max", "field": "n"}})
    assert not same_meter(
        inline, "meters[0]", stored | {"aggregationMethod": {"operator": "Sum", "field": "n", "instanceKey": "i"}}
    )
    assert not same_meter(inline, "meters[0]", stored | {"filter": {"conditions": [{"criterions": crits[:1]}]}})
    two = {"conditions": [{"criterions": crits}, {"criterions": crits}]}
    assert not same_meter(inline, "meters[0]", stored | {"filter": two})
    plain = InlineMeter.model_validate({"key": "k", "eventName": "call", "aggregation": {"operator": "Count"}})
    assert same_meter(plain, "meters[0]", {"eventName": "call", "aggregationMethod": {"operator": "Count"}})
    assert not same_meter(plain, "meters[0]", stored | {"aggregationMethod": {"operator": "Count"}})
