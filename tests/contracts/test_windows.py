"""Month arithmetic from an anchor and usage windows (pure, property-tested)."""

import calendar
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from meterline.contracts.windows import DAY_US, Step, Unit, add_months_dt, boundary, period_index, window_at
from meterline.kit.times import to_us

instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
steps = st.builds(Step, st.sampled_from(list(Unit)), st.integers(min_value=1, max_value=24))


def us(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


def test_month_ends_clamp_but_count_from_the_anchor() -> None:
    jan31 = datetime(2026, 1, 31, 12, 30, tzinfo=UTC)
    assert add_months_dt(jan31, 1) == datetime(2026, 2, 28, 12, 30, tzinfo=UTC)
    assert add_months_dt(jan31, 2) == datetime(2026, 3, 31, 12, 30, tzinfo=UTC)
    assert add_months_dt(jan31, 13) == datetime(2027, 2, 28, 12, 30, tzinfo=UTC)
    assert add_months_dt(datetime(2028, 1, 31, tzinfo=UTC), 1) == datetime(2028, 2, 29, tzinfo=UTC)
    assert add_months_dt(datetime(2028, 2, 29, tzinfo=UTC), 12) == datetime(2029, 2, 28, tzinfo=UTC)
    assert add_months_dt(datetime(2026, 3, 31, tzinfo=UTC), -1) == datetime(2026, 2, 28, tzinfo=UTC)


def test_windows_worked_examples() -> None:
    a = us("2026-01-31T00:00:00+00:00")
    month = Step(Unit.MONTH, 1)
    w = window_at(a, month, us("2026-03-15T00:00:00+00:00"))
    assert (w.start_us, w.end_us) == (us("2026-02-28T00:00:00+00:00"), us("2026-03-31T00:00:00+00:00"))
    w = window_at(a, month, us("2026-03-31T00:00:00+00:00"))
    assert w.start_us == us("2026-03-31T00:00:00+00:00") and w.end_us == us("2026-04-30T00:00:00+00:00")
    w = window_at(a, Step(Unit.MONTH, 3), us("2026-05-01T00:00:00+00:00"), end_us=us("2026-06-15T00:00:00+00:00"))
    assert (w.start_us, w.end_us) == (us("2026-04-30T00:00:00+00:00"), us("2026-06-15T00:00:00+00:00"))
    w = window_at(a, Step(Unit.WEEK, 2), us("2026-02-20T00:00:00+00:00"))
    assert (w.start_us, w.end_us) == (us("2026-02-14T00:00:00+00:00"), us("2026-02-28T00:00:00+00:00"))
    # before the anchor: the first window
    w = window_at(a, month, us("2025-12-01T00:00:00+00:00"))
    assert (w.start_us, w.end_us) == (a, us("2026-02-28T00:00:00+00:00"))


@given(anchor=instants, months=st.integers(min_value=0, max_value=600))
def test_add_months_lands_on_the_anchor_day_or_the_month_end(anchor: datetime, months: int) -> None:
    out = add_months_dt(anchor, months)
    assert (out.year * 12 + out.month) - (anchor.year * 12 + anchor.month) == months
    assert out.day == min(anchor.day, calendar.monthrange(out.year, out.month)[1])
    assert out.time() == anchor.time()


@given(
    anchor=instants, step=steps, offset_days=st.integers(min_value=0, max_value=20000), micros=st.integers(0, DAY_US)
)
def test_the_window_holds_the_instant_and_is_a_period(
    anchor: datetime, step: Step, offset_days: int, micros: int
) -> None:
    a = to_us(anchor)
    t = to_us(anchor + timedelta(days=offset_days)) + micros
    k = period_index(a, step, t)
    w = window_at(a, step, t)
    assert w.start_us <= t < w.end_us
    assert (w.start_us, w.end_us) == (boundary(a, step, k), boundary(a, step, k + 1))
    assert boundary(a, step, k) >= a and k >= 0


@given(anchor=instants, step=steps, offset_days=st.integers(min_value=0, max_value=5000), cut=st.integers(1, 400))
def test_windows_are_clipped_to_the_end(anchor: datetime, step: Step, offset_days: int, cut: int) -> None:
    a = to_us(anchor)
    t = a + offset_days * DAY_US
    end = a + cut * DAY_US
    w = window_at(a, step, t, end_us=end)
    assert w.end_us <= end and w.start_us <= w.end_us
    if t < end:
        assert w.start_us <= t < w.end_us


@given(anchor=instants, step=steps, k=st.integers(min_value=0, max_value=200))
def test_boundaries_are_increasing_and_indexed(anchor: datetime, step: Step, k: int) -> None:
    a = to_us(anchor)
    b0, b1 = boundary(a, step, k), boundary(a, step, k + 1)
    assert b0 < b1
    assert period_index(a, step, b0) == k and period_index(a, step, b1 - 1) == k
