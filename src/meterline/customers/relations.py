"""Customer relations (Vayu: parent and child customers) and lookups by integration id."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from meterline.customers import repository as repo
from meterline.customers.service import to_wire
from meterline.kit.errors import BadRequest, Conflict, NotFound
from meterline.kit.ids import new_id
from meterline.kit.times import iso_us, now_us

# Which customer field holds the id of each integration (documented in docs/semantics.md).
INTEGRATION_FIELDS = {
    "Salesforce": "salesForceAccountId",
    "NetSuite": "customerErpId",
    "QuickBooks": "customerErpId",
}


def _wire(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "vayuParentCustomerId": row["parent_customer_id"],
        "vayuChildCustomerId": row["child_customer_id"],
        "createdAt": iso_us(row["created_at"]),
        "updatedAt": iso_us(row["updated_at"]),
    }


def create(conn: sa.Connection, *, account_id: str, parent_id: str, child_id: str) -> dict[str, Any]:
    if parent_id == child_id:
        raise BadRequest("A customer cannot be its own parent.", param="vayuChildCustomerId")
    for param, customer_id in (("vayuParentCustomerId", parent_id), ("vayuChildCustomerId", child_id)):
        if repo.get(conn, account_id, customer_id) is None:
            raise NotFound(f"Customer {customer_id} ({param}) not found.")
    relation_id, now = new_id(), now_us()
    try:
        repo.insert_relation(
            conn, account_id=account_id, relation_id=relation_id, parent_id=parent_id, child_id=child_id, now=now
        )
    except IntegrityError:
        raise Conflict("This relation already exists.") from None
    row = repo.get_relation(conn, account_id, relation_id)
    assert row is not None
    return _wire(row)


def get(conn: sa.Connection, *, account_id: str, relation_id: str) -> dict[str, Any]:
    row = repo.get_relation(conn, account_id, relation_id)
    if row is None:
        raise NotFound(f"Customer relation {relation_id} not found.")
    return _wire(row)


def get_by_integration(
    conn: sa.Connection, *, account_id: str, integration_type: str, integration_id: str
) -> dict[str, Any]:
    row = None
    if integration_type == "Vayu":
        row = repo.get(conn, account_id, integration_id.lower())
    elif integration_type in INTEGRATION_FIELDS:
        row = repo.get_by_doc_field(conn, account_id, INTEGRATION_FIELDS[integration_type], integration_id)
    if row is None:
        raise NotFound(f"No customer with {integration_type} id {integration_id!r}.")
    return to_wire(row)
