"""Every log line on stderr is one JSON object: structlog's and the standard library's
(uvicorn, alembic, our `logging` users) through one formatter. Secrets never reach a log call.

Lines logged while a request is served carry its `request_id` (and `account_id` once
authenticated): kit.middleware binds them with structlog's contextvars.
"""

import logging
import logging.config
import os
import sys
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog


def _add_pid(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    event["pid"] = os.getpid()  # which server process (--workers N) wrote the line
    return event


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    _add_pid,
    structlog.stdlib.add_logger_name,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def formatter() -> structlog.stdlib.ProcessorFormatter:
    """A logging.Formatter rendering any record as one JSON line (with an `event` key)."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def configure_logging(level: str = "INFO") -> None:
    """Route structlog and the standard library's root logger to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_meterline", False)]:
        root.removeHandler(old)
    handler._meterline = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # alembic's INFO lines repeat per connection; `meterline migrate` logs each revision itself.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers would print plain text: theirs go through the root's.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's log_config: its loggers write JSON lines through `formatter()` (uvicorn's
    own access log stays off: kit.middleware writes one line per request instead)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "meterline.logs.formatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def write_line(logger: str, event: str, fields: dict[str, Any]) -> None:
    """One INFO line, in the shape `formatter()` gives, straight to stderr: for the access
    log, written once per request, ~20x cheaper than a trip through `logging` (measured by
    bench/overhead.py). Carries the request's contextvars like any other line."""
    line = {
        **fields,
        "event": event,
        **structlog.contextvars.get_contextvars(),
        "pid": os.getpid(),
        "logger": logger,
        "level": "info",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    sys.stderr.write(orjson.dumps(line).decode() + "\n")
