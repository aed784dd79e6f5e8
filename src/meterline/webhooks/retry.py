"""The retry schedule, a pure function of the attempt count and the clock.

Attempt n (1-based) failed at `now`: wait min(cap, base * 2**(n-1)), scaled by a jitter
factor in [0.5, 1.0) (from `rand` in [0, 1)), but never past `created + give_up`: the last
try happens at the give-up instant; a failure at or after it is final.
"""

from dataclasses import dataclass

US = 1_000_000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 10.0
    cap_seconds: float = 3600.0
    give_up_seconds: float = 86_400.0


def backoff_us(attempts: int, policy: RetryPolicy, rand: float) -> int:
    """The wait after `attempts` failed attempts (attempts >= 1), jittered, in microseconds."""
    exponent = min(max(attempts - 1, 0), 62)
    raw = min(policy.cap_seconds, policy.base_seconds * (2.0**exponent))
    jitter = 0.5 + 0.5 * min(max(rand, 0.0), 0.999999)
    return max(1, int(raw * jitter * US))


def next_attempt_at(*, created_at: int, attempts: int, now: int, policy: RetryPolicy, rand: float) -> int | None:
    """When to try again after a failed attempt (µs), or None: give up (mark failed)."""
    deadline = created_at + int(policy.give_up_seconds * US)
    if now >= deadline:
        return None
    return min(now + backoff_us(attempts, policy, rand), deadline)
