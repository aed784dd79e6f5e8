"""Every setting, typed, from the environment (METERLINE_<FIELD>). Defaults run on one SQLite file.

The one place that reads METERLINE_* variables: `Settings()` (or `Settings.from_env()`)
reads them; `Settings(database_url=..., ...)` in code and tests overrides them. A value
that does not parse raises SettingsError, whose message is one line naming the variable
(the CLI prints it and exits 2). Each field is one line, and one row of README.md's table
(tests/test_settings.py keeps the two equal).
"""

from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "METERLINE_"
# Never echoed in an error line: they may hold a password or a key.
_SECRET = frozenset({"database_url", "jwt_secret", "redis_url", "metrics_token"})


class SettingsError(ValueError):
    """A METERLINE_* variable holds a value that does not parse; str() is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid")

    database_url: str = "sqlite:///./meterline.db"
    jwt_secret: str | None = None
    redis_url: str | None = None
    redis_timeout_seconds: float = Field(0.1, gt=0)
    rate_limit_per_second: float = Field(500.0, gt=0)
    rate_limit_burst: int = Field(100, ge=1)
    token_ttl_seconds: int = Field(3600, ge=60)
    key_status_ttl_seconds: float = Field(2.0, ge=0)
    background_jobs: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    workers: int = Field(1, ge=1, le=64)
    access_log: bool = True
    access_log_sample: float = Field(1.0, ge=0, le=1)
    metrics: bool = True
    metrics_token: str | None = None
    invoice_interval: float = Field(60.0, ge=0.05)
    threshold_scan_seconds: float = Field(5.0, gt=0)
    webhook_poll_seconds: float = Field(1.0, gt=0)
    webhook_concurrency: int = Field(16, ge=1)
    webhook_per_subscription: int = Field(4, ge=1)
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_lease_seconds: float | None = Field(None, gt=0)
    webhook_retry_base_seconds: float = Field(10.0, gt=0)
    webhook_retry_cap_seconds: float = Field(3600.0, gt=0)
    webhook_give_up_seconds: float = Field(86_400.0, gt=0)
    body_timeout_seconds: float = Field(30.0, gt=0)
    webhook_allowed_networks: str = ""
    db_pool_size: int = Field(10, ge=1)
    db_max_overflow: int = Field(10, ge=0)
    db_pgbouncer: bool = False
    invoice_grace_seconds: float = Field(0.0, ge=0)
    renewal_notice_days: int = Field(30, ge=0)
    rebuild_chunk_events: int = Field(2_500, ge=1)
    rebuild_lease_seconds: float = Field(30.0, gt=0)
    fold_chunk_events: int = Field(20_000, ge=1)
    fold_poll_seconds: float = Field(0.5, gt=0)

    @classmethod
    def from_env(cls) -> "Settings":
        """The settings of this process's environment; SettingsError (one line) on a bad value."""
        try:
            return cls()
        except ValidationError as exc:
            raise SettingsError(describe(exc)) from None


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def describe(exc: ValidationError) -> str:
    """`METERLINE_X: <why> (got '<value>')` for the first bad field (value hidden for secrets)."""
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first.get("loc") else "?"
    line = f"{env_name(field)}: {first['msg']}"
    if field not in _SECRET and isinstance(first.get("input"), str):
        line += f" (got {first['input']!r})"
    return line
