"""Per-account token bucket (Vayu: 500 requests/s, burst 100).

In-process by default; with METERLINE_REDIS_URL the bucket lives in Redis so every
server process shares it (one Lua script call per request, atomic).
"""

import math
import threading
import time
from typing import Protocol

from meterline.kit import metrics
from meterline.kit.errors import RateLimited


class Limiter(Protocol):
    def take(self, key: str) -> float:
        """0.0 when allowed, else the seconds to wait."""
        ...


class LocalBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._state[key] = (tokens - 1.0, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


_LUA = """
local rate = tonumber(ARGV[1]); local burst = tonumber(ARGV[2])
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local s = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(s[1]) or burst; local last = tonumber(s[2]) or now
tokens = math.min(burst, tokens + (now - last) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'last', now)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisBucket:
    def __init__(self, url: str, rate: float, burst: int) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=1.0)
        self._script = self._client.register_script(_LUA)
        self.rate = rate
        self.burst = burst

    def ping(self) -> None:
        """Raises redis.RedisError when Redis does not answer (readiness)."""
        self._client.ping()

    def take(self, key: str) -> float:
        return float(self._script(keys=[f"meterline:rl:{key}"], args=[self.rate, self.burst]))


def enforce(limiter: Limiter, key: str) -> None:
    wait = limiter.take(key)
    if wait > 0:
        metrics.rate_limited()
        raise RateLimited(
            "Rate limit exceeded; retry after the time in Retry-After.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
