"""Distinct meters are counted in SQL (usage.repository.distinct_count): one value carried
by several aliases, in the stored buckets and at the partial edges, counts once, whatever
shape the window takes (one bucket range, several, edges only)."""

from decimal import Decimal

import pytest

from meterline.db.engine import Database, transaction
from meterline.kit.times import parse_instant, to_us
from meterline.usage import repository as usage_repo
from meterline.usage.service import usage
from tests.conftest import make_account
from tests.metering.factories import event, meter_body, stored_meter


def _us(text: str) -> int:
    return to_us(parse_instant(text, param="t"))


@pytest.mark.parametrize(
    ("start", "end", "want"),
    [
        ("2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z", 3),  # one day bucket range
        ("2026-01-09T00:00:00Z", "2026-01-12T00:00:00Z", 4),  # days only, several
        ("2026-01-10T09:00:00Z", "2026-01-10T11:00:00Z", 2),  # hour buckets only
        ("2026-01-10T09:59:00Z", "2026-01-11T12:30:00Z", 4),  # raw edges, hours and days
        ("2026-01-10T10:00:00Z", "2026-01-10T10:00:00.5Z", 2),  # inside one hour: edges only
        ("2026-01-10T10:00:00.5Z", "2026-01-10T10:00:00.6Z", 0),  # nothing
    ],
)
def test_one_value_on_several_aliases_counts_once(db: Database, start: str, end: str, want: int) -> None:
    acc, meter_id = stored_meter(
        db,
        meter_body("Distinct", field="user"),
        [
            event("1", ts="2026-01-10T10:00:00Z", alias="a", user="ann"),
            event("2", ts="2026-01-10T10:00:00Z", alias="b", user="ann"),
            event("3", ts="2026-01-10T10:00:00Z", alias="b", user=Decimal("7")),
            event("4", ts="2026-01-10T20:00:00Z", alias="a", user="bob"),
            event("5", ts="2026-01-10T20:00:00Z", alias="b", user="bob"),
            event("6", ts="2026-01-11T12:00:00Z", alias="a", user="ann"),
            event("7", ts="2026-01-11T12:00:00Z", alias="b", user="cid"),
            event("8", ts="2026-01-10T10:00:00Z", alias="other", user="zed"),
        ],
    )
    with transaction(db, write=False) as conn:
        got = usage(conn, account_id=acc, aliases=["a", "b"], meter_id=meter_id, start_us=_us(start), end_us=_us(end))
    assert got == Decimal(want)


def test_count_falls_back_past_one_statement(db: Database) -> None:
    """Too many edge values for one statement: None, and callers read the values instead."""
    acc = make_account(db).account_id
    extra = [("", f'"v{i}"') for i in range(usage_repo._MAX_EXTRA + 1)]
    with transaction(db, write=False) as conn:
        assert usage_repo.distinct_count(conn, acc, ["a"], "m" * 24, [(1, 0, 86_400_000_000)], extra) is None
        assert usage_repo.distinct_count(conn, acc, ["a"], "m" * 24, [(1, 0, 86_400_000_000)], extra[:3]) == 3


@pytest.mark.parametrize("flat", [False, True])
def test_edge_values_already_stored_count_once(db: Database, flat: bool) -> None:
    """The values-only form (meters without instanceKey) unites stored and edge values as
    the (instance, value) form does."""
    acc, meter_id = stored_meter(
        db,
        meter_body("Distinct", field="user"),
        [event(str(i), ts="2026-01-10T10:00:00Z", alias="a", user=f"u{i % 3}") for i in range(6)],
    )
    day = (1, _us("2026-01-10T00:00:00Z"), _us("2026-01-11T00:00:00Z"))
    stored = ['"u0"', '"u1"', '"u2"']  # canonical JSON texts
    extra = [("", stored[1]), ("", '"new"'), ("", '"new"')]
    with transaction(db, write=False) as conn:
        count = usage_repo.distinct_count(conn, acc, ["a"], meter_id, [day], extra, flat=flat)
        alone = usage_repo.distinct_count(conn, acc, ["a"], meter_id, [day], [], flat=flat)
        rows = usage_repo.windows_distinct(conn, acc, ["a"], [(0, meter_id, [day])])
    assert sorted(v for _, _, v in rows) == stored
    assert (alone, count) == (3, 4)


@pytest.mark.parametrize("flat", [False, True])
def test_a_series_counted_in_one_statement_equals_each_window_counted_alone(db: Database, flat: bool) -> None:
    """usage.repository.distinct_counts (a chart's days of one Distinct meter in one
    statement) against distinct_count part by part, values shared across days and aliases."""
    acc, meter_id = stored_meter(
        db,
        meter_body("Distinct", field="user"),
        [
            event(str(i), ts=f"2026-01-{10 + i % 4:02d}T{i % 24:02d}:00:00Z", alias="ab"[i % 2], user=f"u{i % 5}")
            for i in range(40)
        ],
    )
    days = [(k, _us(f"2026-01-{d:02d}T00:00:00Z")) for k, d in enumerate(range(8, 16))]
    parts = [(k, meter_id, [(1, start, start + 86_400_000_000)]) for k, start in days]
    parts.append((len(parts), meter_id, [(1, days[0][1], days[-1][1]), (0, days[-1][1], days[-1][1] + 3_600_000_000)]))
    with transaction(db, write=False) as conn:
        together = usage_repo.distinct_counts(conn, acc, ["a", "b"], parts, flat=flat)
        alone = {k: usage_repo.distinct_count(conn, acc, ["a", "b"], meter_id, r, [], flat=flat) for k, _, r in parts}
    assert together is not None and sum(together.values()) > 0
    assert {k: together.get(k, 0) for k in alone} == alone
