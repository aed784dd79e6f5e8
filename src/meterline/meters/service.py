"""Meter use cases. A meter created, or whose eventName, aggregationMethod or filter
changed, gets a rebuild job (meters/rebuilds.py) and answers at once; until the job swaps
its rollups in, the meter's reads compute from the stored events (exact, slower)."""

from typing import Any

import sqlalchemy as sa

from meterline.kit.documents import doc_wire
from meterline.kit.errors import BadRequest, NotFound
from meterline.kit.ids import new_id
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import now_us
from meterline.meters import rebuilds
from meterline.meters import repository as repo
from meterline.meters.schemas import MeterCreate, MeterUpdate
from meterline.meters.spec import validate_meter

_SHAPE = ("eventName", "aggregationMethod", "filter")


def to_wire(row: dict[str, Any], *, rebuild: dict[str, Any] | None = None, deleted: bool = False) -> dict[str, Any]:
    """The meter as Vayu shows it, plus our extension `rebuild` when it has a rebuild job:
    {"status": "pending"|"running"|"done", "progress": 0..1, "eventsDone", "eventsTotal"}."""
    out = doc_wire(row, deleted=deleted)
    if rebuild is not None:
        out["rebuild"] = rebuild_wire(rebuild)
    return out


def rebuild_wire(job: dict[str, Any]) -> dict[str, Any]:
    done, total = int(job["events_done"]), job["events_total"]
    if job["status"] == "done":
        progress = 1.0
    elif total:
        progress = min(done / total, 1.0)
    else:
        progress = 0.0
    return {"status": job["status"], "progress": progress, "eventsDone": done, "eventsTotal": total}


def _wire(conn: sa.Connection, account_id: str, row: dict[str, Any]) -> dict[str, Any]:
    return to_wire(row, rebuild=repo.latest_rebuilds(conn, account_id, [row["id"]]).get(row["id"]))


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
    rebuilds.schedule(conn, account_id=account_id, meter=row, stale=True, now=now_us(), target=meter_id)
    return _wire(conn, account_id, _row(conn, account_id, meter_id))


def _row(conn: sa.Connection, account_id: str, meter_id: str) -> dict[str, Any]:
    row = repo.get(conn, account_id, meter_id)
    if row is None:
        raise NotFound(f"Meter {meter_id} not found.")
    return row


def get(conn: sa.Connection, *, account_id: str, meter_id: str) -> dict[str, Any]:
    return _wire(conn, account_id, _row(conn, account_id, meter_id))


def list_page(conn: sa.Connection, *, account_id: str, page: PageRequest) -> Page:
    rows = repo.page(conn, account_id, after_seq=page.after_seq, limit=page.limit)
    jobs = repo.latest_rebuilds(conn, account_id, [r["id"] for r in rows])
    return make_page(
        [(r["seq"], to_wire(r, rebuild=jobs.get(r["id"]))) for r in rows],
        limit=page.limit,
        total=repo.count(conn, account_id),
    )


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
        rebuilds.schedule(conn, account_id=account_id, meter=row, stale=True, now=now_us())
    return _wire(conn, account_id, _row(conn, account_id, meter_id))


def delete(conn: sa.Connection, *, account_id: str, meter_id: str) -> dict[str, Any]:
    row = _row(conn, account_id, meter_id)
    now = now_us()
    repo.mark_deleted(conn, account_id, meter_id, now)
    rebuilds.forget(conn, account_id=account_id, meter=row, now=now)
    gone = repo.get_any(conn, account_id, meter_id)
    assert gone is not None
    return to_wire(gone, deleted=True)
