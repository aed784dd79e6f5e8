"""Settings from the environment (METERLINE_*). Defaults run on one SQLite file."""

import os
from dataclasses import dataclass


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./meterline.db"
    jwt_secret: str | None = None
    redis_url: str | None = None
    rate_limit_per_second: float = 500.0
    rate_limit_burst: int = 100
    token_ttl_seconds: int = 3600
    key_status_ttl_seconds: float = 2.0
    background_jobs: bool = True
    log_level: str = "INFO"
    rebuild_chunk_events: int = 2_500
    rebuild_lease_seconds: float = 30.0

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            database_url=_env("METERLINE_DATABASE_URL", cls.database_url) or cls.database_url,
            jwt_secret=_env("METERLINE_JWT_SECRET"),
            redis_url=_env("METERLINE_REDIS_URL"),
            rate_limit_per_second=float(_env("METERLINE_RATE_LIMIT_PER_SECOND", "500") or 500),
            rate_limit_burst=int(_env("METERLINE_RATE_LIMIT_BURST", "100") or 100),
            key_status_ttl_seconds=float(_env("METERLINE_KEY_STATUS_TTL_SECONDS", "2") or 2),
            background_jobs=(_env("METERLINE_BACKGROUND_JOBS", "1") or "1") not in ("0", "false", "no"),
            log_level=_env("METERLINE_LOG_LEVEL", "INFO") or "INFO",
            rebuild_chunk_events=int(_env("METERLINE_REBUILD_CHUNK_EVENTS", "2500") or 2500),
            rebuild_lease_seconds=float(_env("METERLINE_REBUILD_LEASE_SECONDS", "30") or 30),
        )
