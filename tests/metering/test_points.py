"""First and Last meters without instanceKey read only the extreme bucket of each range and
alias (usage.repository.windows_point_flat): a later bucket with no valued event is passed
over, and two aliases with a point at the same instant are ordered by ref."""

from decimal import Decimal

import pytest

from meterline.db.engine import Database, transaction
from meterline.kit.times import parse_instant, to_us
from meterline.usage.service import usage
from tests.metering.factories import event, meter_body, stored_meter

EVENTS = [
    event("r1", ts="2026-01-09T23:00:00Z", alias="b", v=Decimal("9")),  # the day before
    event("r2", ts="2026-01-10T10:05:00Z", alias="a", v=Decimal("1")),
    event("r3", ts="2026-01-10T10:05:00Z", alias="b", v=Decimal("2")),  # same instant, later ref
    event("r4", ts="2026-01-10T11:30:00Z", alias="a"),  # no value: counts, holds no point
    event("r5", ts="2026-01-11T08:00:00Z", alias="a", v=Decimal("7")),
]


@pytest.mark.parametrize(
    ("operator", "start", "end", "aliases", "want"),
    [
        ("Last", "2026-01-10T10:00:00Z", "2026-01-10T12:00:00Z", "ab", "2"),  # hours; the last has no value
        ("Last", "2026-01-10T10:00:00Z", "2026-01-10T12:00:00Z", "a", "1"),  # the valueless hour is passed over
        ("First", "2026-01-10T10:00:00Z", "2026-01-10T12:00:00Z", "ab", "1"),
        ("Last", "2026-01-09T00:00:00Z", "2026-01-11T00:00:00Z", "ab", "2"),  # days only
        ("First", "2026-01-09T00:00:00Z", "2026-01-11T00:00:00Z", "ab", "9"),
        ("Last", "2026-01-09T22:30:00Z", "2026-01-12T00:00:00Z", "ab", "7"),  # edges, hours and days
        ("First", "2026-01-09T23:00:00.001Z", "2026-01-12T00:00:00Z", "ab", "1"),
        ("Last", "2026-01-10T11:00:00Z", "2026-01-10T12:00:00Z", "ab", "0"),  # only a valueless event: none
    ],
)
def test_extreme_bucket_per_range_and_alias(
    db: Database, operator: str, start: str, end: str, aliases: str, want: str
) -> None:
    acc, meter_id = stored_meter(db, meter_body(operator, field="v"), EVENTS)
    with transaction(db, write=False) as conn:
        got = usage(
            conn,
            account_id=acc,
            aliases=list(aliases),
            meter_id=meter_id,
            start_us=to_us(parse_instant(start, param="t")),
            end_us=to_us(parse_instant(end, param="t")),
        )
    assert got == Decimal(want)


@pytest.mark.parametrize("operator", ["First", "Last"])
def test_a_series_of_days_read_by_one_scan_equals_each_day_read_alone(db: Database, operator: str) -> None:
    """window_values over many disjoint day windows (a chart: usage.repository._point_series,
    one range scan) against each window read alone (one descent per range and alias), with
    days without events, valueless events and ties between aliases."""
    from meterline.usage.service import window_values

    evs = [
        event(f"s{i}", ts=f"2026-02-{1 + i % 9:02d}T{(i * 5) % 24:02d}:00:00Z", alias="ab"[i % 2], v=Decimal(i))
        for i in range(30)
        if i % 7
    ] + [
        event("tie", ts="2026-02-03T05:00:00Z", alias="b", v=Decimal("-1")),
        event("nov", ts="2026-02-04T23:00:00Z", alias="a"),
    ]
    acc, meter_id = stored_meter(db, meter_body(operator, field="v"), evs)
    day = 86_400_000_000
    first = to_us(parse_instant("2026-01-30T00:00:00Z", param="t"))
    with transaction(db, write=False) as conn:
        from meterline.meters import repository as meters_repo

        row = meters_repo.live_keys(conn, acc, [meter_id])[0]
        items = [(row, first + k * day, first + (k + 1) * day) for k in range(12)]
        together = window_values(conn, acc, ["a", "b"], items)
        alone = [window_values(conn, acc, ["a", "b"], [item])[0] for item in items]
    assert together == alone and sum(v is not None for v in alone) >= 5
