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
