"""Catalog product use cases. A product may name the meter that measures it (meterId)."""

from typing import Any

import sqlalchemy as sa

from meterline.catalog import repository as repo
from meterline.catalog.schemas import CatalogProductCreate, CatalogProductUpdate
from meterline.kit.documents import doc_wire
from meterline.kit.errors import NotFound
from meterline.kit.ids import new_id
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import now_us
from meterline.meters import repository as meters_repo

to_wire = doc_wire


def _check_meter(conn: sa.Connection, account_id: str, meter_id: str | None) -> str | None:
    if meter_id is None:
        return None
    meter_id = meter_id.lower()
    if meters_repo.get(conn, account_id, meter_id) is None:
        raise NotFound(f"Meter {meter_id} not found.", param="meterId")
    return meter_id


def create(conn: sa.Connection, *, account_id: str, data: CatalogProductCreate) -> dict[str, Any]:
    doc = {k: v for k, v in data.model_dump().items() if k in data.model_fields_set}
    meter_id = _check_meter(conn, account_id, data.meterId)
    if meter_id is not None:
        doc["meterId"] = meter_id
    product_id = new_id()
    repo.insert(
        conn, account_id=account_id, product_id=product_id, name=data.name, meter_id=meter_id, doc=doc, now=now_us()
    )
    return get(conn, account_id=account_id, product_id=product_id)


def get_row(conn: sa.Connection, *, account_id: str, product_id: str) -> dict[str, Any]:
    row = repo.get(conn, account_id, product_id)
    if row is None:
        raise NotFound(f"Catalog product {product_id} not found.")
    return row


def get(conn: sa.Connection, *, account_id: str, product_id: str) -> dict[str, Any]:
    return to_wire(get_row(conn, account_id=account_id, product_id=product_id))


def list_page(conn: sa.Connection, *, account_id: str, page: PageRequest) -> Page:
    rows = repo.page(conn, account_id, after_seq=page.after_seq, limit=page.limit)
    return make_page([(r["seq"], to_wire(r)) for r in rows], limit=page.limit, total=repo.count(conn, account_id))


def update(conn: sa.Connection, *, account_id: str, product_id: str, data: CatalogProductUpdate) -> dict[str, Any]:
    row = get_row(conn, account_id=account_id, product_id=product_id)
    changes = {k: v for k, v in data.model_dump().items() if k in data.model_fields_set and v is not None}
    if "meterId" in changes:
        changes["meterId"] = _check_meter(conn, account_id, changes["meterId"])
    doc = {**row["doc"], **changes}
    repo.update(conn, account_id, product_id, name=doc["name"], meter_id=doc.get("meterId"), doc=doc, now=now_us())
    return get(conn, account_id=account_id, product_id=product_id)


def delete(conn: sa.Connection, *, account_id: str, product_id: str) -> dict[str, Any]:
    """Soft delete. Contract lines naming the product keep it; it leaves consumption answers."""
    get_row(conn, account_id=account_id, product_id=product_id)
    repo.mark_deleted(conn, account_id, product_id, now_us())
    row = repo.get(conn, account_id, product_id, deleted=True)
    assert row is not None
    return to_wire(row, deleted=True)
