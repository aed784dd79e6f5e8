"""All SQL of customers and their aliases. Every query filters on account_id."""

from typing import Any

import sqlalchemy as sa

from meterline.db.tables.core import customer_aliases, customer_relations, customers

_LIVE = customers.c.deleted_at.is_(None)


def insert(
    conn: sa.Connection,
    *,
    account_id: str,
    customer_id: str,
    name: str,
    external_id: str | None,
    doc: dict[str, Any],
    now: int,
) -> None:
    conn.execute(
        sa.insert(customers).values(
            id=customer_id,
            account_id=account_id,
            name=name,
            external_id=external_id,
            doc=doc,
            created_at=now,
            updated_at=now,
        )
    )


def get(conn: sa.Connection, account_id: str, customer_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(customers).where(customers.c.account_id == account_id, customers.c.id == customer_id, _LIVE)
    ).first()
    return dict(row._mapping) if row else None


def get_any(conn: sa.Connection, account_id: str, customer_id: str) -> dict[str, Any] | None:
    """Also a deleted customer (for the delete answer)."""
    row = conn.execute(
        sa.select(customers).where(customers.c.account_id == account_id, customers.c.id == customer_id)
    ).first()
    return dict(row._mapping) if row else None


def get_by_external_id(conn: sa.Connection, account_id: str, external_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(customers).where(customers.c.account_id == account_id, customers.c.external_id == external_id, _LIVE)
    ).first()
    return dict(row._mapping) if row else None


def get_by_name(conn: sa.Connection, account_id: str, name: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(customers)
        .where(customers.c.account_id == account_id, customers.c.name == name, _LIVE)
        .order_by(customers.c.seq)
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def get_by_alias(conn: sa.Connection, account_id: str, alias: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(customers)
        .join(customer_aliases, customer_aliases.c.customer_id == customers.c.id)
        .where(customer_aliases.c.account_id == account_id, customer_aliases.c.alias == alias, _LIVE)
    ).first()
    return dict(row._mapping) if row else None


def page(conn: sa.Connection, account_id: str, *, after_seq: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(customers)
        .where(customers.c.account_id == account_id, _LIVE, customers.c.seq > after_seq)
        .order_by(customers.c.seq)
        .limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


def _matching(account_id: str, q: str) -> sa.ColumnElement[bool]:
    """Name, externalId or one of the aliases contains q (case-insensitive; % and _ literal)."""
    pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    aliases = sa.select(customer_aliases.c.customer_id).where(
        customer_aliases.c.account_id == account_id,
        sa.func.lower(customer_aliases.c.alias).like(pattern, escape="\\"),
    )
    return sa.or_(
        sa.func.lower(customers.c.name).like(pattern, escape="\\"),
        sa.func.lower(customers.c.external_id).like(pattern, escape="\\"),
        customers.c.id.in_(aliases),
    )


def search_page(conn: sa.Connection, account_id: str, q: str, *, after_seq: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(customers)
        .where(customers.c.account_id == account_id, _LIVE, customers.c.seq > after_seq, _matching(account_id, q))
        .order_by(customers.c.seq)
        .limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


def search_count(conn: sa.Connection, account_id: str, q: str) -> int:
    query = sa.select(sa.func.count()).select_from(customers)
    query = query.where(customers.c.account_id == account_id, _LIVE, _matching(account_id, q))
    return int(conn.execute(query).scalar_one())


def count(conn: sa.Connection, account_id: str) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(customers).where(customers.c.account_id == account_id, _LIVE)
        ).scalar_one()
    )


def update(
    conn: sa.Connection,
    account_id: str,
    customer_id: str,
    *,
    name: str,
    external_id: str | None,
    doc: dict[str, Any],
    now: int,
) -> None:
    conn.execute(
        sa.update(customers)
        .where(customers.c.account_id == account_id, customers.c.id == customer_id)
        .values(name=name, external_id=external_id, doc=doc, updated_at=now)
    )


def mark_deleted(conn: sa.Connection, account_id: str, customer_id: str, now: int) -> None:
    conn.execute(
        sa.update(customers)
        .where(customers.c.account_id == account_id, customers.c.id == customer_id)
        .values(deleted_at=now, updated_at=now)
    )


def alias_owners(conn: sa.Connection, account_id: str, aliases: list[str]) -> dict[str, str]:
    if not aliases:
        return {}
    rows = conn.execute(
        sa.select(customer_aliases.c.alias, customer_aliases.c.customer_id).where(
            customer_aliases.c.account_id == account_id, customer_aliases.c.alias.in_(aliases)
        )
    )
    return {r.alias: r.customer_id for r in rows}


def aliases_of(conn: sa.Connection, account_id: str, customer_id: str) -> list[str]:
    rows = conn.execute(
        sa.select(customer_aliases.c.alias).where(
            customer_aliases.c.account_id == account_id, customer_aliases.c.customer_id == customer_id
        )
    )
    return [r.alias for r in rows]


def set_aliases(conn: sa.Connection, account_id: str, customer_id: str, aliases: list[str]) -> None:
    conn.execute(
        sa.delete(customer_aliases).where(
            customer_aliases.c.account_id == account_id, customer_aliases.c.customer_id == customer_id
        )
    )
    if aliases:
        conn.execute(
            sa.insert(customer_aliases),
            [{"account_id": account_id, "alias": a, "customer_id": customer_id} for a in aliases],
        )


def get_by_doc_field(conn: sa.Connection, account_id: str, field: str, value: str) -> dict[str, Any] | None:
    """Rare lookups by an integration field of the stored document (scans the account's customers)."""
    rows = conn.execute(
        sa.select(customers).where(customers.c.account_id == account_id, _LIVE).order_by(customers.c.seq)
    )
    for r in rows:
        if r.doc.get(field) == value:
            return dict(r._mapping)
    return None


def insert_relation(
    conn: sa.Connection, *, account_id: str, relation_id: str, parent_id: str, child_id: str, now: int
) -> None:
    conn.execute(
        sa.insert(customer_relations).values(
            id=relation_id,
            account_id=account_id,
            parent_customer_id=parent_id,
            child_customer_id=child_id,
            created_at=now,
            updated_at=now,
        )
    )


def get_relation(conn: sa.Connection, account_id: str, relation_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(customer_relations).where(
            customer_relations.c.account_id == account_id, customer_relations.c.id == relation_id
        )
    ).first()
    return dict(row._mapping) if row else None
