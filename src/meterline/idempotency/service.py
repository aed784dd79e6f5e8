"""Idempotent writes: claim a key in the request's own transaction, store the answer in it.

The key row is written in the same transaction as the write it guards (the session
dependency commits both or neither), so a committed key always carries its answer, and a
request that failed leaves no key behind (its retry runs again). Two concurrent requests
with one key: the second waits for the first's transaction (SQLite: the writers' lock;
PostgreSQL: the uncommitted key row), then answers the stored answer.
"""

import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa

from meterline.idempotency import repository as repo
from meterline.idempotency.rules import HEADER, TTL_US
from meterline.kit.errors import BadRequest, Conflict

PURGE_EVERY_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    body: bytes


class _PurgeClock:
    """When this process last purged an account's expired keys (at most every few minutes)."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, account_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(account_id, -PURGE_EVERY_SECONDS) < PURGE_EVERY_SECONDS:
                return False
            if len(self._last) > 100_000:
                self._last.clear()
            self._last[account_id] = now
            return True


_purge_clock = _PurgeClock()


def begin(conn: sa.Connection, *, account_id: str, key: str, request_hash: str, now: int) -> StoredAnswer | None:
    """Claim `key` for this request (None: go on, then call `finish` in this transaction), or
    the stored answer of the same request. Raises BadRequest `idempotency_key_reused` when
    the key named another request within 24 h."""
    cutoff = now - TTL_US
    if _purge_clock.due(account_id):
        repo.purge_expired(conn, account_id=account_id, cutoff=cutoff)
    if repo.insert_claim(conn, account_id=account_id, key=key, request_hash=request_hash, now=now):
        return None
    for _ in range(2):
        row = repo.get(conn, account_id=account_id, key=key)
        if row is None:  # deleted meanwhile (purged): claim it afresh
            if repo.insert_claim(conn, account_id=account_id, key=key, request_hash=request_hash, now=now):
                return None
            continue
        if row["created_at"] < cutoff:
            if repo.reclaim_expired(
                conn, account_id=account_id, key=key, request_hash=request_hash, now=now, cutoff=cutoff
            ):
                return None
            continue  # another request took it over first: read its row again
        if row["request_hash"] != request_hash:
            raise BadRequest(
                f"This {HEADER} was used for another request (method, path or body) within the last 24 hours; "
                "send a new key for a new request.",
                code="idempotency_key_reused",
                param=HEADER,
            )
        if row["status_code"] is None:
            break
        return StoredAnswer(status=int(row["status_code"]), body=bytes(row["response_body"] or b""))
    raise Conflict(
        f"A request with this {HEADER} is still in progress; retry later.", code="idempotency_key_in_use", param=HEADER
    )


def finish(conn: sa.Connection, *, account_id: str, key: str, status: int, body: bytes) -> None:
    """Store a 2xx answer with its claim; any other answer releases the key (a retry runs again)."""
    if 200 <= status < 300:
        repo.set_answer(conn, account_id=account_id, key=key, status=status, body=body)
    else:
        repo.delete(conn, account_id=account_id, key=key)
