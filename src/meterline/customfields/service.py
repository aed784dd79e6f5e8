"""Custom field definitions: create, read, partial update, soft delete."""

from typing import Any

import sqlalchemy as sa

from meterline.customfields import repository as repo
from meterline.customfields.schemas import CustomFieldCreate, CustomFieldUpdate, check_enum_rules
from meterline.kit.documents import doc_wire
from meterline.kit.errors import BadRequest, NotFound
from meterline.kit.ids import new_id
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import now_us

to_wire = doc_wire


def create(conn: sa.Connection, *, account_id: str, data: CustomFieldCreate) -> dict[str, Any]:
    field_id = new_id()
    doc = data.model_dump(mode="json", exclude_unset=True)
    repo.insert(conn, account_id=account_id, field_id=field_id, doc=doc, now=now_us())
    return get(conn, account_id=account_id, field_id=field_id)


def _row(conn: sa.Connection, account_id: str, field_id: str) -> dict[str, Any]:
    row = repo.get(conn, account_id, field_id)
    if row is None:
        raise NotFound(f"Custom field {field_id} not found.")
    return row


def get(conn: sa.Connection, *, account_id: str, field_id: str) -> dict[str, Any]:
    return to_wire(_row(conn, account_id, field_id))


def list_page(conn: sa.Connection, *, account_id: str, page: PageRequest) -> Page:
    rows = repo.page(conn, account_id, after_seq=page.after_seq, limit=page.limit)
    return make_page([(r["seq"], to_wire(r)) for r in rows], limit=page.limit, total=repo.count(conn, account_id))


def update(conn: sa.Connection, *, account_id: str, field_id: str, data: CustomFieldUpdate) -> dict[str, Any]:
    row = _row(conn, account_id, field_id)
    # As for customers: the official client sends null for fields it leaves out.
    changes = {k: v for k, v in data.model_dump(mode="json", exclude_unset=True).items() if v is not None}
    doc = {**row["doc"], **changes}
    try:
        check_enum_rules(doc.get("valueType"), doc.get("allowedValues"), doc.get("defaultValue"))
    except ValueError as exc:
        raise BadRequest(str(exc), param="allowedValues") from None
    repo.update(conn, account_id, field_id, doc=doc, now=now_us())
    return get(conn, account_id=account_id, field_id=field_id)


def delete(conn: sa.Connection, *, account_id: str, field_id: str) -> dict[str, Any]:
    _row(conn, account_id, field_id)
    repo.mark_deleted(conn, account_id, field_id, now_us())
    row = repo.get(conn, account_id, field_id, include_deleted=True)
    assert row is not None
    return to_wire(row, deleted=True)
