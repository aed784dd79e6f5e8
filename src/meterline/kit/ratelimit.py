"""Per-account token bucket (Vayu: 500 requests/s, burst 100).

In-process by default; with METERLINE_REDIS_URL the bucket lives in Redis so every
server process shares it (one Lua script call per request, atomic, on the asyncio client).

Redis is an accelerator, never a dependency of the API: when it does not answer within
METERLINE_REDIS_TIMEOUT_SECONDS (connect or read), the request is served with this
process's own bucket, the outage is logged once, and Redis is tried again after a backoff
(1 s doubling to 30 s, one request at a time); its first answer is logged once and the
shared limit resumes.
"""

import asyncio
import math
import threading
import time
from typing import Any, Protocol

import structlog

from meterline.kit import metrics
from meterline.kit.errors import RateLimited

log = structlog.get_logger("meterline.ratelimit")


class Limiter(Protocol):
    async def acquire(self, key: str) -> float:
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

    async def acquire(self, key: str) -> float:
        return self.take(key)


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

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0


class RedisBucket:
    """The shared bucket, falling back to an in-process one while Redis does not answer.

    `timeout`: seconds for a connect and for a read (a call is capped at 3x that);
    `retry_seconds`: the first backoff after a failure (doubling up to MAX_RETRY_SECONDS);
    `prefix`: of the Redis keys (one per account)."""

    def __init__(
        self,
        url: str,
        rate: float,
        burst: int,
        *,
        timeout: float = 0.1,
        retry_seconds: float = FIRST_RETRY_SECONDS,
        prefix: str = "meterline:rl:",
    ) -> None:
        self.url = url
        self.rate = rate
        self.burst = burst
        self.timeout = timeout
        self.prefix = prefix
        self._first_retry = retry_seconds
        self._local = LocalBucket(rate, burst)
        # redis.asyncio connections belong to one event loop: one client per loop (a server
        # process has one; test clients may run several).
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}
        self._down = False
        self._backoff = retry_seconds
        self._retry_at = 0.0

    @property
    def shared(self) -> bool:
        """False while requests are served with the in-process bucket."""
        return not self._down

    async def ping(self) -> None:
        """Raises (redis.RedisError, OSError, TimeoutError) when Redis does not answer
        within 3x the timeout (readiness: GET /readyz)."""
        async with asyncio.timeout(3 * self.timeout):
            await self._script().registered_client.ping()

    def _script(self) -> Any:
        loop = asyncio.get_running_loop()
        script = self._clients.get(loop)
        if script is None:
            import redis.asyncio as aioredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            client = aioredis.Redis.from_url(
                self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout, retry=Retry(NoBackoff(), 0)
            )
            for gone in [lp for lp in self._clients if lp.is_closed()]:
                del self._clients[gone]
            script = self._clients[loop] = client.register_script(_LUA)
        return script

    async def acquire(self, key: str) -> float:
        from redis.exceptions import RedisError

        now = time.monotonic()
        probing = self._down
        if probing:
            if now < self._retry_at:
                return self._local.take(key)
            self._retry_at = now + self._backoff  # this request probes; the others stay local
        try:
            async with asyncio.timeout(3 * self.timeout):
                wait = float(await self._script()(keys=[self.prefix + key], args=[self.rate, self.burst]))
        except (RedisError, OSError, TimeoutError) as exc:
            if not self._down:
                self._down = True
                log.warning(
                    "rate_limit_redis_unavailable",
                    error=type(exc).__name__,
                    fallback="in-process bucket",
                    retry_in_seconds=self._backoff,
                )
                self._retry_at = now + self._backoff
            elif probing:  # still down: wait longer before the next probe
                self._backoff = min(MAX_RETRY_SECONDS, self._backoff * 2)
                self._retry_at = time.monotonic() + self._backoff
            return self._local.take(key)
        if self._down:
            self._down = False
            self._backoff = self._first_retry
            log.info("rate_limit_redis_recovered")
        return wait


async def enforce(limiter: Limiter, key: str) -> None:
    wait = await limiter.acquire(key)
    if wait > 0:
        metrics.rate_limited()
        raise RateLimited(
            "Rate limit exceeded; retry after the time in Retry-After.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
