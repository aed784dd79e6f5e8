"""Meter use cases. A meter created or changed is backfilled from the stored events in
the same transaction, so its numbers are right as soon as the answer arrives."""

from typing import Any

import sqlalchemy as sa

from meterline.kit.documents import doc_wire
from meterline.kit.errors import BadRequest, NotFound
from meterline.kit.ids import new_id
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import now_us
from meterline.meters import repository as repo
from meterline.meters.schemas import MeterCreate, MeterUpdate
from meterline.meters.spec import validate_meter
from meterline.usage import service as usage_service

_SHAPE = ("eventName", "aggregationMethod", "filter")


to_wire = doc_wire


def _check(doc: dict[str, Any]) -> None:
    problems = validate_meter(doc)
    if problems:
        params = [{"param": p, "message": m} for p, m in problems]
        param, message = problems[0]
        code = "parameter_missing" if message.startswith("is required") else "validation_failed"
        raise BadRequest(f"{param}: {message}", code=code, param=param, params=params)


def _doc(data: MeterCreate | MeterUpdate, base: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = dict(base or {})
    for key, value in data.model_dump(mode="python", exclude_none=True).items():
        doc[key] = value
    return doc


def create(conn: sa.Connection, *, account_id: str, data: MeterCreate) -> dict[str, Any]:
    doc = _doc(data)
    _check(doc)
    meter_id = new_id()
    repo.insert(
        conn, account_id=account_id, meter_id=meter_id, name=data.name, event_name=data.eventName, doc=doc, now=now_us()
    )
    row = repo.get(conn, account_id, meter_id)
    assert row is not None
    usage_service.backfill(conn, account_id, row)
    return to_wire(row)


def _row(conn: sa.Connection, account_id: str, meter_id: str) -> dict[str, Any]:
    row = repo.get(conn, account_id, meter_id)
    if row is None:
        raise NotFound(f"Meter {meter_id} not found.")
    return row


def get(conn: sa.Connection, *, account_id: str, meter_id: str) -> dict[str, Any]:
    return to_wire(_row(conn, account_id, meter_id))


def list_page(conn: sa.Connection, *, account_id: str, page: PageRequest) -> Page:
    rows = repo.page(conn, account_id, after_seq=page.after_seq, limit=page.limit)
    return make_page([(r["seq"], to_wire(r)) for r in rows], limit=page.limit, total=repo.count(conn, account_id))


def update(conn: sa.Connection, *, account_id: str, meter_id: str, data: MeterUpdate) -> dict[str, Any]:
    row = _row(conn, account_id, meter_id)
    doc = _doc(data, row["doc"])
    _check(doc)
    changed = any(doc.get(k) != row["doc"].get(k) for k in _SHAPE)
    repo.update(
        conn,
        account_id,
        meter_id,
        name=doc["name"],
        event_name=doc["eventName"],
        doc=doc,
        bump_version=changed,
        now=now_us(),
    )
    row = _row(conn, account_id, meter_id)
    if changed:
        usage_service.backfill(conn, account_id, row)
    return to_wire(row)


def delete(conn: sa.Connection, *, account_id: str, meter_id: str) -> dict[str, Any]:
    _row(conn, account_id, meter_id)
    repo.mark_deleted(conn, account_id, meter_id, now_us())
    usage_service.drop(conn, account_id, meter_id)
    row = repo.get_any(conn, account_id, meter_id)
    assert row is not None
    return to_wire(row, deleted=True)
