"""Per-event validation (SEMANTICS.md "Events"). Pure: a bad event gets a clear error
string and never rejects its neighbours."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from meterline.kit.times import from_us, to_us

MAX_REF = 256
MAX_EXPONENT = 1000
MAX_TEXT = 1024
FUTURE_LIMIT_US = 24 * 3600 * 1_000_000
MIN_TS_US = to_us(datetime(1970, 1, 1, tzinfo=UTC))


class ValidEvent(NamedTuple):
    """An accepted event (a tuple: immutable, and ~3x cheaper to build than a frozen
    dataclass, which counts at 1000 events a batch)."""

    name: str
    ts: int
    alias: str
    ref: str
    data: dict[str, Any] | None


def parse_timestamp(value: Any) -> int:
    """ISO 8601 text -> microseconds UTC; no offset means UTC. Raises ValueError."""
    if not isinstance(value, str) or not value or len(value) > 64:
        raise ValueError("timestamp must be an ISO 8601 date-time string")
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"timestamp {value[:64]!r} is not an ISO 8601 date-time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    us = to_us(dt)
    if us < MIN_TS_US:
        raise ValueError("timestamp must not be before 1970-01-01T00:00:00Z")
    return us


_SECONDS: dict[int, str] = {}


def event_time(us: int) -> str:
    """How event timestamps are written back: UTC, `Z`, milliseconds (as Vayu), or
    microseconds when the event carried sub-millisecond precision."""
    sec, micro = divmod(us, 1_000_000)
    head = _SECONDS.get(sec)
    if head is None:
        if len(_SECONDS) > 100_000:
            _SECONDS.clear()
        head = _SECONDS[sec] = from_us(sec * 1_000_000).strftime("%Y-%m-%dT%H:%M:%S.")
    if micro % 1000:
        return f"{head}{micro:06d}Z"
    return f"{head}{micro // 1000:03d}Z"


def _text(event: dict[str, Any], key: str, limit: int) -> str:
    value = event.get(key)
    if value is None:
        raise ValueError(f"{key} is required")
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    if not value:
        raise ValueError(f"{key} must not be empty")
    if len(value) > limit:
        raise ValueError(f"{key} must be at most {limit} characters")
    return value


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
_fromiso = datetime.fromisoformat


def validate(event: Any, now_us: int) -> ValidEvent:
    """Raises ValueError with the message answered in invalidEvents[].error.

    The first block is the fast path for well-formed events; anything unusual falls
    through to the detailed checks, which produce the error message.
    """
    if type(event) is dict:
        name, alias, ref, when = event.get("name"), event.get("customerAlias"), event.get("ref"), event.get("timestamp")
        data = event.get("data")
        if (
            type(name) is str
            and type(alias) is str
            and type(ref) is str
            and type(when) is str
            and 0 < len(name) <= MAX_TEXT
            and 0 < len(alias) <= MAX_REF
            and 0 < len(ref) <= MAX_REF
            and 0 < len(when) <= 64
            and (data is None or (type(data) is dict and _numbers_ok(data)))
        ):
            try:
                dt = _fromiso(when)
            except ValueError:
                dt = None
            if dt is not None:
                ts = (dt - _NAIVE_EPOCH) // _US if dt.tzinfo is None else (dt - _EPOCH) // _US
                if MIN_TS_US <= ts <= now_us + FUTURE_LIMIT_US:
                    return ValidEvent(name, ts, alias, ref, data)
    return _validate_slow(event, now_us)


def _validate_slow(event: Any, now_us: int) -> ValidEvent:
    if not isinstance(event, dict):
        raise ValueError("event must be a JSON object")
    name = _text(event, "name", MAX_TEXT)
    alias = _text(event, "customerAlias", MAX_REF)
    ref = _text(event, "ref", MAX_REF)
    if "timestamp" not in event or event["timestamp"] is None:
        raise ValueError("timestamp is required")
    ts = parse_timestamp(event["timestamp"])
    if ts > now_us + FUTURE_LIMIT_US:
        raise ValueError("timestamp is more than 24 hours in the future")
    data = event.get("data")
    if data is not None:
        if not isinstance(data, dict):
            raise ValueError("data must be a JSON object")
        if not _numbers_ok(data):
            raise ValueError(f"data holds a number with an exponent beyond ±{MAX_EXPONENT}")
    return ValidEvent(name, ts, alias, ref, data)


def _number_ok(v: Decimal) -> bool:
    # The JSON text bounds the digits; only the exponent can blow a number up (1e999999).
    return v.is_finite() and -MAX_EXPONENT <= v.adjusted() <= MAX_EXPONENT


def safe_echo(raw: Any) -> Any:
    """An invalid event as sent, except numbers that cannot be printed compactly, which are
    echoed as their exponent text (e.g. "1E+999999")."""
    if isinstance(raw, Decimal):
        return raw if _number_ok(raw) else str(raw)
    if isinstance(raw, dict):
        return {k: safe_echo(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [safe_echo(v) for v in raw]
    return raw


def _numbers_ok(doc: dict[str, Any]) -> bool:
    """Numbers must stay printable exactly in reasonable space (1e999999 would not)."""
    for v in doc.values():  # fast path: a flat object
        t = type(v)
        if t is Decimal:
            if not (v.is_finite() and -MAX_EXPONENT <= v.adjusted() <= MAX_EXPONENT):
                return False
        elif t is dict or t is list:
            break
    else:
        return True
    stack: list[Any] = [doc]
    while stack:
        cur = stack.pop()
        for v in cur.values() if type(cur) is dict else cur:
            t = type(v)
            if t is Decimal:
                if not _number_ok(v):
                    return False
            elif t is dict or t is list:
                stack.append(v)
    return True
