"""Customer use cases. Aliases and externalId are unique within an account (409)."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from meterline.customers import repository as repo
from meterline.customers.schemas import CustomerCreate, CustomerUpdate
from meterline.kit.documents import doc_wire
from meterline.kit.errors import Conflict, NotFound
from meterline.kit.ids import new_id
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import now_us
from meterline.webhooks import service as webhooks

to_wire = doc_wire


def _check_unique(
    conn: sa.Connection, account_id: str, *, aliases: list[str], external_id: str | None, own_id: str | None
) -> None:
    taken = sorted(a for a, owner in repo.alias_owners(conn, account_id, aliases).items() if owner != own_id)
    if taken:
        raise Conflict(f"Alias already belongs to another customer: {', '.join(taken)}.")
    if external_id is not None:
        other = repo.get_by_external_id(conn, account_id, external_id)
        if other is not None and other["id"] != own_id:
            raise Conflict(f"externalId {external_id!r} already belongs to another customer.")


def _dump(model: CustomerCreate | CustomerUpdate) -> dict[str, Any]:
    return model.model_dump(mode="python", exclude_unset=True)


def create(conn: sa.Connection, *, account_id: str, data: CustomerCreate) -> dict[str, Any]:
    aliases = data.aliases or []
    _check_unique(conn, account_id, aliases=aliases, external_id=data.externalId, own_id=None)
    doc = _dump(data)
    doc["aliases"] = aliases
    customer_id, now = new_id(), now_us()
    try:
        repo.insert(
            conn,
            account_id=account_id,
            customer_id=customer_id,
            name=data.name,
            external_id=data.externalId,
            doc=doc,
            now=now,
        )
        repo.set_aliases(conn, account_id, customer_id, aliases)
    except IntegrityError:
        raise Conflict("A customer with one of these aliases or this externalId already exists.") from None
    row = repo.get(conn, account_id, customer_id)
    assert row is not None
    # A customer just created has no contract yet: notify (once per customer).
    webhooks.enqueue(
        conn,
        account_id=account_id,
        event_type="NewCustomerWithoutContract",
        data={"customerId": customer_id, "name": data.name, "externalId": data.externalId, "aliases": aliases},
        dedupe_key=customer_id,
    )
    return to_wire(row)


def _get_row(conn: sa.Connection, account_id: str, customer_id: str) -> dict[str, Any]:
    row = repo.get(conn, account_id, customer_id)
    if row is None:
        raise NotFound(f"Customer {customer_id} not found.")
    return row


def get(conn: sa.Connection, *, account_id: str, customer_id: str) -> dict[str, Any]:
    return to_wire(_get_row(conn, account_id, customer_id))


def get_by_external_id(conn: sa.Connection, *, account_id: str, external_id: str) -> dict[str, Any]:
    row = repo.get_by_external_id(conn, account_id, external_id)
    if row is None:
        raise NotFound(f"No customer with externalId {external_id!r}.")
    return to_wire(row)


def get_by_name(conn: sa.Connection, *, account_id: str, name: str) -> dict[str, Any]:
    row = repo.get_by_name(conn, account_id, name)
    if row is None:
        raise NotFound(f"No customer named {name!r}.")
    return to_wire(row)


def get_row_by_alias(conn: sa.Connection, *, account_id: str, alias: str) -> dict[str, Any]:
    row = repo.get_by_alias(conn, account_id, alias)
    if row is None:
        raise NotFound(f"No customer holds alias {alias!r}.")
    return row


def list_page(conn: sa.Connection, *, account_id: str, page: PageRequest) -> Page:
    rows = repo.page(conn, account_id, after_seq=page.after_seq, limit=page.limit)
    return make_page([(r["seq"], to_wire(r)) for r in rows], limit=page.limit, total=repo.count(conn, account_id))


def search_page(conn: sa.Connection, *, account_id: str, q: str, page: PageRequest) -> Page:
    """Live customers whose name, externalId or one of whose aliases contains `q`
    (case-insensitive), in creation order, with the API's cursor pagination; q "" lists all."""
    q = q.strip()
    if not q:
        return list_page(conn, account_id=account_id, page=page)
    rows = repo.search_page(conn, account_id, q, after_seq=page.after_seq, limit=page.limit)
    total = repo.search_count(conn, account_id, q)
    return make_page([(r["seq"], to_wire(r)) for r in rows], limit=page.limit, total=total)


def update(conn: sa.Connection, *, account_id: str, customer_id: str, data: CustomerUpdate) -> dict[str, Any]:
    row = _get_row(conn, account_id, customer_id)
    # The official client sends null for every field the caller left out, so null means
    # "unchanged" (documented in docs/semantics.md); [] clears a list.
    changes = {k: v for k, v in _dump(data).items() if v is not None}
    doc = {**row["doc"], **changes}
    aliases: list[str] = doc.get("aliases") or []
    external_id = doc.get("externalId")
    _check_unique(conn, account_id, aliases=aliases, external_id=external_id, own_id=customer_id)
    try:
        repo.update(conn, account_id, customer_id, name=doc["name"], external_id=external_id, doc=doc, now=now_us())
        if "aliases" in changes:
            repo.set_aliases(conn, account_id, customer_id, aliases)
    except IntegrityError:
        raise Conflict("A customer with one of these aliases or this externalId already exists.") from None
    return to_wire(_get_row(conn, account_id, customer_id))


def delete(conn: sa.Connection, *, account_id: str, customer_id: str) -> dict[str, Any]:
    """Soft delete: gone from lists and lookups, aliases freed; its events stay stored."""
    _get_row(conn, account_id, customer_id)
    repo.mark_deleted(conn, account_id, customer_id, now_us())
    repo.set_aliases(conn, account_id, customer_id, [])
    row = repo.get_any(conn, account_id, customer_id)
    assert row is not None
    return to_wire(row, deleted=True)
