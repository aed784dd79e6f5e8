"""The products-consumptions read cache: a customer's last answer, served again after one
statement shows that nothing it was computed from has changed.

Why: on PostgreSQL the read costs a pipelined round trip of about a dozen statements plus
the Python that combines them (~3.6x the server's constant endpoint, BENCHMARKS.md); on
SQLite ~1.7x. A billing client asks for the same customer again and again between writes.

Exact, never a source of stale figures:
- The answer is computed in one snapshot (PostgreSQL REPEATABLE READ, a SQLite read
  transaction) that also takes the customer's fingerprint (repository.fingerprint).
  PostgreSQL: the versions (xmin) of every definition row the read uses (customer,
  aliases, contracts, catalog, meters, measurements from the windows' start, credit
  balance), each alias's fold generation and its count of backlog rows (any stored event
  is in the backlog until a fold, and every fold or delete raises the generation:
  usage.backlog_repository.bump_generations). SQLite: the kept read connection's
  `PRAGMA data_version`, which changes with any commit of any other connection (coarser:
  any write to the file counts).
- A later request takes the fingerprint again (one statement: PostgreSQL autocommit, no
  BEGIN or COMMIT round trip) with the same parameters; only when it is equal is the
  answer served, and only for an instant the cached answer also holds at: the same
  `?at=`, or, for a read of now, an instant before the first moment time alone changes it
  (a usage window's end, the next contract start, the first stored event or measurement
  day after the instant it was computed at: repository.next_changes, in the snapshot).
- A read whose prediction missed after its transaction had ended runs again in a new one
  (service.read_seen): its answer is not kept (another snapshot than the fingerprint's),
  nor one whose lines start before the day measurements were fingerprinted from (the next
  one starts from there).
One answer per customer id or alias and process, 4,096 at most.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meterline.consumption import repository as repo
from meterline.consumption import service
from meterline.db.engine import Database, quick_check, small_read
from meterline.kit import metrics

# For a read with ?at= (not "now"): no instant after it matters (the answer serves that
# instant only), so no next_* instant is looked for.
_NEVER = 2**62
_MAX_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class _Entry:
    customer_id: str
    at_us: int  # the instant the answer was computed at
    now: bool  # computed for "now": serves later instants of "now" up to until_us
    until_us: int  # the first instant (exclusive) it may not hold at
    since_us: int  # measurements fingerprinted from this day on
    mark: tuple[Any, ...]  # repository.fingerprint in the answer's snapshot
    entries: list[dict[str, Any]]

    def covers(self, at_us: int, now: bool) -> bool:
        if now and self.now:
            return self.at_us <= at_us < self.until_us
        return not now and not self.now and at_us == self.at_us


Key = tuple[str, str, str]  # (account id, "id" or "alias", customer id or alias)
_ENTRIES: dict[Key, _Entry] = {}
_SINCE: dict[Key, int] = {}  # per key, the windows' earliest start at its last read


def for_customer(db: Database, *, account_id: str, customer_id: str, at_us: int, now: bool) -> list[dict[str, Any]]:
    """service.for_customer, served from the cache when it holds. `now`: the request named
    no instant (at_us is the clock's)."""
    key = (account_id, "id", customer_id)
    return _read(db, key, at_us, now, lambda conn: customer_id)


def for_alias(db: Database, *, account_id: str, alias: str, at_us: int, now: bool) -> list[dict[str, Any]]:
    """service.for_alias, served from the cache when it holds."""
    key = (account_id, "alias", alias)
    return _read(db, key, at_us, now, lambda conn: repo.customer_of_alias(conn, account_id, alias))


def _read(db: Database, key: Key, at_us: int, now: bool, holder: Callable[[Any], str | None]) -> list[dict[str, Any]]:
    account_id, kind, value = key
    customer_id = value if kind == "id" else None
    alias = value if kind == "alias" else None
    entry = _ENTRIES.get(key)
    if entry is not None and entry.covers(at_us, now):
        with quick_check(db) as conn:
            mark = repo.fingerprint(conn, account_id, entry.customer_id, since_us=entry.since_us)
        if mark == entry.mark:
            metrics.consumption_read("cached")
            return [dict(e) for e in entry.entries]
        _ENTRIES.pop(key, None)
        metrics.consumption_read("stale")
    else:
        metrics.consumption_read("computed")
    with small_read(db) as conn:
        # One snapshot (PostgreSQL REPEATABLE READ, a SQLite read transaction) for the
        # fingerprint, the next changes and the read.
        cid = holder(conn)
        since = _SINCE.get(key, 0)
        taken: tuple[Any, ...] = ()
        nexts: list[int | None] = []
        if cid is not None:
            taken = repo.fingerprint(conn, account_id, cid, since_us=since)
            nexts = repo.next_changes(conn, account_id, cid, at_us) if now else []
        seen, out = service.read_seen(conn, key, at_us, customer_id=customer_id, alias=alias)
    # Compared with this read's own value: another thread's fill of the key may write
    # _SINCE meanwhile (found by a review, tests/consumption/test_cache_attacks.py).
    low = min((line.window_start_us for line in seen.lines), default=_NEVER)
    _SINCE[key] = low
    if cid is not None and seen.customer_id == cid and not seen.reran and since <= low:
        until = _NEVER
        if now:
            # A window's end or a contract's start changes the lines; an event or a
            # measurement dated x counts from instants after x on.
            start, event, day = nexts
            hard = [line.window_end_us for line in seen.lines] + ([start] if start is not None else [])
            soft = [x + 1 for x in (event, day) if x is not None]
            until = min([*hard, *soft], default=_NEVER)
        _store(key, _Entry(cid, at_us, now, until, since, taken, [dict(e) for e in out]))
    return out


def _store(key: Key, entry: _Entry) -> None:
    if len(_ENTRIES) >= _MAX_ENTRIES:
        _ENTRIES.clear()
    if len(_SINCE) >= _MAX_ENTRIES:
        _SINCE.clear()
    _ENTRIES[key] = entry


def clear() -> None:
    """Forget every cached answer (tests that compare computed reads)."""
    _ENTRIES.clear()
    _SINCE.clear()
