"""Plan use cases. A plan holds product lines; a contract created with its planId copies them."""

from typing import Any

import sqlalchemy as sa

from meterline.contracts import lines as lines_mod
from meterline.contracts.refs import check_catalog_products
from meterline.kit.documents import doc_wire
from meterline.kit.errors import NotFound
from meterline.kit.ids import new_id
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import now_us
from meterline.plans import repository as repo
from meterline.plans.schemas import PlanCreate

to_wire = doc_wire


def create(conn: sa.Connection, *, account_id: str, data: PlanCreate) -> dict[str, Any]:
    doc = lines_mod.dump(data)
    doc["status"] = data.status.value
    doc["products"] = doc.get("products") or []
    doc["productGroups"] = doc.get("productGroups") or []
    check_catalog_products(conn, account_id, doc)
    plan_id = new_id()
    repo.insert(conn, account_id=account_id, plan_id=plan_id, name=data.name, doc=doc, now=now_us())
    return get(conn, account_id=account_id, plan_id=plan_id)


def get_row(conn: sa.Connection, *, account_id: str, plan_id: str, param: str | None = None) -> dict[str, Any]:
    row = repo.get(conn, account_id, plan_id)
    if row is None:
        raise NotFound(f"Plan {plan_id} not found.", param=param)
    return row


def get(conn: sa.Connection, *, account_id: str, plan_id: str) -> dict[str, Any]:
    return to_wire(get_row(conn, account_id=account_id, plan_id=plan_id))


def list_page(conn: sa.Connection, *, account_id: str, page: PageRequest) -> Page:
    rows = repo.page(conn, account_id, after_seq=page.after_seq, limit=page.limit)
    return make_page([(r["seq"], to_wire(r)) for r in rows], limit=page.limit, total=repo.count(conn, account_id))


def delete(conn: sa.Connection, *, account_id: str, plan_id: str) -> dict[str, Any]:
    """Soft delete; contracts created from the plan keep the lines they copied."""
    get_row(conn, account_id=account_id, plan_id=plan_id)
    repo.mark_deleted(conn, account_id, plan_id, now_us())
    row = repo.get(conn, account_id, plan_id, deleted=True)
    assert row is not None
    return to_wire(row, deleted=True)
