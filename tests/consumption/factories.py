"""Shared set-ups of the consumption tests."""

import time
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.contracts import factories as f
from tests.metering.factories import create_meter


def two_meter_customer(
    api: TestClient,
    *,
    start: str = "2026-01-01T00:00:00Z",
    strategy: str = "BLOCK",
    tokens_units: int = 10,
    **contract: Any,
) -> dict[str, str]:
    """Customer alias `acme` with one contract from `start` (extra contract fields in
    `contract`): product Tokens (a Sum meter on event `tokens`, `tokens_units` units,
    `strategy`) and product Users (a Distinct meter of `user` on event `users`, 5 units).
    Ids by key: cid; tokens and users (meters); tp and up (products); contract."""
    cid = f.customer(api, aliases=["acme"])
    tokens = create_meter(api, operator="Sum", event_name="tokens")
    users = create_meter(api, operator="Distinct", event_name="users", field="user")
    tp = f.product(api, name="Tokens", meter_id=tokens["id"])
    up = f.product(api, name="Users", meter_id=users["id"])
    lines = [f.usage_line(tp, units=tokens_units, strategy=strategy), f.usage_line(up, units=5)]
    c = f.contract(api, cid, startDate=start, products=lines, **contract)
    return {"cid": cid, "tokens": tokens["id"], "users": users["id"], "tp": tp, "up": up, "contract": c["id"]}


def iso(seconds: float) -> str:
    """The ISO 8601 instant (UTC, µs) of a Unix time in seconds."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def sleep_past(instant: float) -> None:
    """Sleep until just after this Unix time (seconds)."""
    time.sleep(max(0.0, instant - time.time()) + 0.05)
