"""The retry schedule as a pure function: no sleeping, explicit clocks."""

from meterline.webhooks.retry import US, RetryPolicy, backoff_us, next_attempt_at

POLICY = RetryPolicy(base_seconds=10, cap_seconds=3600, give_up_seconds=86_400)


def test_backoff_doubles_then_caps_with_jitter_between_half_and_full() -> None:
    full = [backoff_us(n, POLICY, rand=0.999999) for n in range(1, 14)]
    assert [round(d / US) for d in full[:9]] == [10, 20, 40, 80, 160, 320, 640, 1280, 2560]
    assert all(round(d / US) == 3600 for d in full[9:])
    half = [backoff_us(n, POLICY, rand=0.0) for n in range(1, 14)]
    assert [d / US for d in half[:3]] == [5.0, 10.0, 20.0] and half[-1] == 1800 * US
    for n in range(1, 14):
        assert half[n - 1] <= backoff_us(n, POLICY, rand=0.37) <= full[n - 1]
    assert backoff_us(10_000, POLICY, rand=0.5) == 2700 * US  # huge attempt counts stay capped


def test_next_attempt_and_the_24h_give_up() -> None:
    created = 1_700_000_000 * US
    assert next_attempt_at(created_at=created, attempts=1, now=created, policy=POLICY, rand=0.0) == created + 5 * US
    # the last try is clamped to exactly 24 h after creation
    late = created + 86_400 * US - 60 * US
    assert next_attempt_at(created_at=created, attempts=20, now=late, policy=POLICY, rand=0.9) == created + 86_400 * US
    # a failure at or after 24 h is final
    assert next_attempt_at(created_at=created, attempts=21, now=created + 86_400 * US, policy=POLICY, rand=0.5) is None
    assert next_attempt_at(created_at=created, attempts=3, now=created + 90_000 * US, policy=POLICY, rand=0.5) is None


def test_full_schedule_reaches_give_up_in_bounded_attempts() -> None:
    created, now, attempts = 0, 0, 0
    times = []
    while True:
        attempts += 1
        nxt = next_attempt_at(created_at=created, attempts=attempts, now=now, policy=POLICY, rand=0.5)
        if nxt is None:
            break
        assert nxt > now
        times.append(nxt)
        now = nxt
    assert times[-1] == 86_400 * US
    assert 30 <= attempts <= 50  # 30 to 60 minutes apart once capped
