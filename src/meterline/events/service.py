"""Event use cases: ingest (one transaction per batch), query, delete, dry-run."""

import os
import time
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from meterline.customers import repository as customers_repo
from meterline.events import counts
from meterline.events import repository as repo
from meterline.events.validation import ValidEvent, event_time, safe_echo, validate
from meterline.kit import jsonenc
from meterline.kit.errors import BadRequest, NotFound, TooLarge
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import iso_us, now_us
from meterline.meters.aggregation import Event, aggregate
from meterline.meters.filters import MISSING, lookup
from meterline.meters.spec import MeterSpec
from meterline.usage import backlog
from meterline.usage import service as usage_service
from meterline.webhooks import notify

MAX_EVENTS = 1000
DUPLICATE = "Event ref already exists."


def check_batch(events: Any, *, key: str = "events", limit: int = MAX_EVENTS) -> list[Any]:
    if not isinstance(events, list):
        raise BadRequest(f"{key} must be an array of events", code="parameter_missing", param=key)
    if not events:
        raise BadRequest(f"{key} must hold 1 to {limit} events", param=key)
    if len(events) > limit:
        raise TooLarge(f"{key} holds {len(events)} events; at most {limit} are accepted per request")
    return events


def _ids(n: int) -> list[str]:
    prefix = int(time.time()).to_bytes(4, "big").hex()
    blob = os.urandom(8 * n).hex()
    return [prefix + blob[16 * i : 16 * i + 16] for i in range(n)]


def _echo(ev: ValidEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"name": ev.name, "timestamp": event_time(ev.ts), "customerAlias": ev.alias, "ref": ev.ref}
    if ev.data is not None:
        out["data"] = ev.data
    return out


def _echo_stored(ev: ValidEvent, data_json: str | None) -> dict[str, Any]:
    """_echo with `data` as its already-encoded JSON text (written as is in the answer)."""
    out: dict[str, Any] = {"name": ev.name, "timestamp": event_time(ev.ts), "customerAlias": ev.alias, "ref": ev.ref}
    if data_json is not None:
        out["data"] = orjson.Fragment(data_json)
    return out


@dataclass(slots=True)
class Prepared:
    """A validated batch, not yet stored (validation needs no database). `data_json`
    holds each accepted event's data as exact JSON text (None when absent), `echo` its
    validEvents entry (built here, outside the SQLite writer's turn)."""

    accepted: list[ValidEvent]
    data_json: list[str | None]
    echo: list[dict[str, Any]]
    invalid: list[dict[str, Any]]
    now: int
    # Built by prescreen before the write transaction: the events rows and, where the
    # request merges its rollups (SQLite: usage.backlog.deferred), the merges of every
    # accepted event with the meters they were computed for (used only when the meters are
    # unchanged and no event turns out to be a duplicate).
    rows: list[repo.EventRow] | None = None
    rollups: tuple[usage_service.MeterKeys, usage_service.Plan] | None = None
    # Whether the batch goes to the rollup backlog (backlog.deferred), decided once.
    deferred: bool | None = None
    # The meters the accepted events were screened against (see screen()).
    screened: usage_service.MeterKeys | None = None


def prepare(events: Any, *, limit: int = MAX_EVENTS) -> Prepared:
    """Check the batch and each event; refs repeated within the batch are duplicates."""
    check_batch(events, limit=limit)
    now = now_us()
    invalid: list[dict[str, Any]] = []
    accepted: list[ValidEvent] = []
    seen: set[str] = set()
    for raw in events:
        try:
            ev = validate(raw, now)
        except ValueError as exc:
            invalid.append({"event": safe_echo(raw), "error": str(exc)})
            continue
        if ev.ref in seen:
            invalid.append({"event": safe_echo(raw), "error": DUPLICATE})
            continue
        seen.add(ev.ref)
        accepted.append(ev)
    dumps = jsonenc.dumps
    data_json = [None if e.data is None else dumps(e.data).decode() for e in accepted]
    echo = [_echo_stored(e, d) for e, d in zip(accepted, data_json, strict=True)]
    return Prepared(accepted, data_json, echo, invalid, now)


def screen(batch: Prepared, meters: list[dict[str, Any]]) -> None:
    """Move to `invalid` every accepted event that a live meter selecting it would read a
    number outside the numeric domain from (kit/amounts.py): its neighbours are stored.
    Events no meter reads are kept as sent."""
    keys = usage_service.meter_keys(meters)
    if batch.screened == keys:
        return
    batch.screened = keys
    by_name: dict[str, list[MeterSpec]] = {}
    for row in meters:
        spec = usage_service.spec_of(row)
        if spec.reads_amounts:
            by_name.setdefault(row["event_name"], []).append(spec)
    if not by_name:
        return
    keep: list[int] = []
    for i, ev in enumerate(batch.accepted):
        why = next((w for spec in by_name.get(ev.name, ()) if (w := spec.refusal(ev.data)) is not None), None)
        if why is None:
            keep.append(i)
        else:
            batch.invalid.append({"event": batch.echo[i], "error": why})
    if len(keep) < len(batch.accepted):
        batch.accepted = [batch.accepted[i] for i in keep]
        batch.data_json = [batch.data_json[i] for i in keep]
        batch.echo = [batch.echo[i] for i in keep]
        batch.rows = batch.rollups = None


def _rows(account_id: str, batch: Prepared) -> list[repo.EventRow]:
    ids, data_json, now = _ids(len(batch.accepted)), batch.data_json, batch.now
    return [(ids[i], account_id, e.ref, e.name, e.alias, e.ts, data_json[i], now) for i, e in enumerate(batch.accepted)]


def _inserted(accepted: list[ValidEvent]) -> list[tuple[int, str, str, str, Any]]:
    return [(e.ts, e.ref, e.alias, e.name, e.data) for e in accepted]


def prescreen(conn: sa.Connection, *, account_id: str, batch: Prepared) -> None:
    """Screen the batch with the account's current meters and build its rows (and, where
    the request merges the rollups, their merges), outside the write transaction (store()
    screens again, and recomputes the merges, if the meters changed meanwhile)."""
    if batch.accepted:
        meters = usage_service.meter_rows_for(conn, account_id, {e.name for e in batch.accepted})
        screen(batch, meters)
        batch.rows = _rows(account_id, batch)
        if not _deferred(conn, batch):
            plan = usage_service.plan_inserted(account_id, meters, _inserted(batch.accepted))
            batch.rollups = (usage_service.meter_keys(meters), plan)


def _deferred(conn: sa.Connection, batch: Prepared) -> bool:
    if batch.deferred is None:
        batch.deferred = backlog.deferred(conn, [(e.alias, e.ts) for e in batch.accepted])
    return batch.deferred


def store(conn: sa.Connection, *, account_id: str, batch: Prepared) -> dict[str, Any]:
    """Store a prepared batch, and its rollups or their backlog (usage/backlog.py), in
    the caller's transaction; refs already
    stored are answered as duplicates; the answer is added to the day's ingestion counts
    (events.counts). Answers Vayu's SendEventsResponse."""
    answer = _screen_and_write(conn, account_id=account_id, batch=batch)
    counts.record(conn, account_id=account_id, at_us=batch.now, answer=answer, duplicate_error=DUPLICATE)
    return answer


def _screen_and_write(conn: sa.Connection, *, account_id: str, batch: Prepared) -> dict[str, Any]:
    if batch.accepted:
        # PostgreSQL: the account's SHARED lock (batches of an account run in parallel;
        # whoever recomputes its buckets from the stored events, under the exclusive lock,
        # waits for them and then folds their backlog first: usage/backlog.py).
        # The unique index makes the duplicate check exact: a concurrent insert of the same
        # ref waits for the other transaction's end. SQLite writers hold the database lock.
        repo.lock_account_shared(conn, account_id)
        # The meters again: one created or changed since prescreen screens the batch anew.
        meters = usage_service.meter_rows_for(conn, account_id, {e.name for e in batch.accepted})
        screen(batch, meters)
    accepted, invalid, echo = batch.accepted, list(batch.invalid), batch.echo
    if not accepted:
        return {"validEvents": echo, "invalidEvents": invalid}
    try:
        return _write(conn, account_id, batch, meters, accepted, invalid, echo)
    except repo.NulInText:  # PostgreSQL: the transaction is rolled back, nothing stored
        raise BadRequest("Text must not contain the NUL character (U+0000).", code="bad_request") from None


def _write(
    conn: sa.Connection,
    account_id: str,
    batch: Prepared,
    meters: list[dict[str, Any]],
    accepted: list[ValidEvent],
    invalid: list[dict[str, Any]],
    echo: list[dict[str, Any]],
) -> dict[str, Any]:
    rows = batch.rows if batch.rows is not None else _rows(account_id, batch)
    taken = repo.insert_new(conn, account_id, rows)
    if taken:
        keep = [i for i, e in enumerate(accepted) if e.ref not in taken]
        invalid += [{"event": echo[i], "error": DUPLICATE} for i, e in enumerate(accepted) if e.ref in taken]
        accepted, echo = [accepted[i] for i in keep], [echo[i] for i in keep]
        if not accepted:
            return {"validEvents": echo, "invalidEvents": invalid}
    if _deferred(conn, batch):  # merged into the rollups by the folder, from a copy
        backlog.add(conn, [(r[1], r[4], r[3], r[5], r[0], r[2], r[6]) for r in rows if not taken or r[2] not in taken])
    else:
        planned = batch.rollups
        if planned is not None and not taken and planned[0] == usage_service.meter_keys(meters):
            usage_service.apply_plan(conn, planned[1])
        elif meters:
            usage_service.on_inserted(conn, account_id, meters, _inserted(accepted))
    notify.anonymous_aliases(conn, account_id=account_id, aliases={e.alias for e in accepted}, day=batch.now)
    return {"validEvents": echo, "invalidEvents": invalid}


def ingest(conn: sa.Connection, *, account_id: str, events: list[Any], limit: int = MAX_EVENTS) -> dict[str, Any]:
    """Validate and store a batch (1..1000 events; `limit` lets bulk loaders such as the
    benchmark pass more) in the caller's transaction: per-event validation, dedupe by ref
    (earlier batches and this one), events and their rollups (or backlog) together. Answers Vayu's
    SendEventsResponse {"validEvents", "invalidEvents"}."""
    return store(conn, account_id=account_id, batch=prepare(events, limit=limit))


def to_wire(row: dict[str, Any], *, deleted_at: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "timestamp": event_time(row["ts"]),
        "customerAlias": row["customer_alias"],
        "ref": row["ref"],
    }
    if row["data"] is not None:
        out["data"] = jsonenc.loads(row["data"])
    out["createdAt"] = iso_us(row["created_at"])
    out["updatedAt"] = iso_us(row["created_at"])
    if deleted_at is not None:
        out["deletedAt"] = iso_us(deleted_at)
    return out


def get(conn: sa.Connection, *, account_id: str, ref: str) -> dict[str, Any]:
    rows = repo.get_by_refs(conn, account_id, [ref])
    if not rows:
        raise NotFound(f"No event with ref {ref[:256]!r}.")
    return to_wire(rows[0])


def delete_by_refs(conn: sa.Connection, *, account_id: str, refs: list[str]) -> list[dict[str, Any]]:
    """Remove these events and their contribution to every meter; unknown refs are skipped."""
    repo.lock_account(conn, account_id)
    backlog.fold_account(conn, account_id)  # the stored events and the rollups agree again
    rows = repo.get_by_refs(conn, account_id, list(dict.fromkeys(refs)))
    if not rows:
        return []
    repo.delete_seqs(conn, account_id, [r["seq"] for r in rows])
    usage_service.on_deleted(conn, account_id, rows)
    now = now_us()
    return [to_wire(r, deleted_at=now) for r in rows]


def delete(conn: sa.Connection, *, account_id: str, ref: str) -> dict[str, Any]:
    deleted = delete_by_refs(conn, account_id=account_id, refs=[ref])
    if not deleted:
        raise NotFound(f"No event with ref {ref[:256]!r}.")
    return deleted[0]


def query(
    conn: sa.Connection,
    *,
    account_id: str,
    start_us: int,
    end_us: int,
    name: str | None,
    alias: str | None,
    page: PageRequest,
    count_cap: int | None = None,
) -> Page:
    """GET /events: a page of the events of [start_us, end_us) with these name and alias
    (None: any), in creation order after the cursor, and their `total`. With `count_cap`
    the total is counted only up to count_cap + 1 (the dashboard's explorer)."""
    total = repo.count(conn, account_id, start_us=start_us, end_us=end_us, name=name, alias=alias, cap=count_cap)
    few = count_cap is None or total <= count_cap  # a capped count says only "many"
    rows = repo.page(
        conn,
        account_id,
        start_us=start_us,
        end_us=end_us,
        name=name,
        alias=alias,
        after_seq=page.after_seq,
        limit=page.limit,
        matches=total if few else None,
    )
    return make_page([(r["seq"], to_wire(r)) for r in rows], limit=page.limit, total=total)


def dry_run(conn: sa.Connection, *, account_id: str, events: list[Any]) -> dict[str, Any]:
    """Nothing stored: per event, the customer holding its alias and the value of every
    meter that selects it (its eventName and filter); a meter with no value is null."""
    check_batch(events)
    now = now_us()
    valid: list[ValidEvent] = []
    for i, raw in enumerate(events):
        try:
            valid.append(validate(raw, now))
        except ValueError as exc:
            raise BadRequest(f"events[{i}]: {exc}", param=f"events[{i}]") from None
    owners = customers_repo.alias_owners(conn, account_id, sorted({e.alias for e in valid}))
    meters = usage_service.meter_rows_for(conn, account_id, {e.name for e in valid})
    docs = {row["id"]: jsonenc.loads(row["doc_text"]) for row in meters}
    out = []
    for i, ev in enumerate(valid):
        values = []
        for row in meters:
            spec = usage_service.spec_of(row)
            if row["event_name"] != ev.name:
                continue
            why = spec.refusal(ev.data)
            if why is not None:
                raise BadRequest(f"events[{i}]: {why}", param=f"events[{i}]")
            if not spec.passes(ev.data):
                continue
            value = aggregate(spec, [Event(ev.name, ev.ts, ev.ref, ev.alias, ev.data)])
            values.append(
                {"id": row["id"], **docs[row["id"]], "value": value, "instanceValue": _instance_value(ev, spec)}
            )
        out.append(
            {
                "event": {**_echo(ev), "accountId": account_id},
                "matchedCustomer": owners.get(ev.alias),
                "meterWithValues": values,
            }
        )
    return {"events": out}


def _instance_value(ev: ValidEvent, spec: MeterSpec) -> Any:
    if spec.instance_key is None:
        return None
    v = lookup(ev.data, spec.instance_key)
    return None if v is MISSING else v
