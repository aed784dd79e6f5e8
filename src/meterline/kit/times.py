"""Instants: stored as integer microseconds since the Unix epoch (UTC) on every backend."""

from datetime import UTC, datetime, timedelta

from meterline.kit.errors import InvalidParameter

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_us(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def now_us() -> int:
    return to_us(utcnow())


def iso(dt: datetime) -> str:
    """JavaScript-style ISO 8601 (millisecond precision, Z) as Vayu answers."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_us(us: int) -> str:
    return iso(from_us(us))


def parse_instant(value: str, *, param: str) -> datetime:
    """ISO 8601; no offset means UTC. Accepts `+0000` offsets (the official client's format)."""
    text = value.strip()
    try:
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(f"{param} must be an ISO 8601 date-time, got {value[:64]!r}", param=param) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00: before year 1 in UTC
        message = f"{param} is outside the years 1..9999 in UTC, got {value[:64]!r}"
        raise InvalidParameter(message, param=param) from None
