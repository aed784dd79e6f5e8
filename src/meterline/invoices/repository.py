"""All SQL of invoices. Every query filters on account_id."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meterline.db.tables.billing import invoices

_T = invoices


def insert_draft(conn: sa.Connection, *, values: dict[str, Any]) -> None:
    """Insert a draft row unless the contract's cycle already has one (concurrency-safe)."""
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(_T).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(_T).values(**values).on_conflict_do_nothing()
    conn.execute(stmt)


def get(conn: sa.Connection, account_id: str, invoice_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(_T).where(_T.c.account_id == account_id, _T.c.id == invoice_id)).first()
    return dict(row._mapping) if row else None


def by_contract(conn: sa.Connection, account_id: str, contract_id: str) -> dict[int, dict[str, Any]]:
    """The contract's invoice rows by cycle start."""
    rows = conn.execute(sa.select(_T).where(_T.c.account_id == account_id, _T.c.contract_id == contract_id))
    return {r.cycle_start: dict(r._mapping) for r in rows}


def get_by_cycle(conn: sa.Connection, account_id: str, contract_id: str, cycle_start: int) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(_T).where(
            _T.c.account_id == account_id, _T.c.contract_id == contract_id, _T.c.cycle_start == cycle_start
        )
    ).first()
    return dict(row._mapping) if row else None


def claim_issue(
    conn: sa.Connection, account_id: str, invoice_id: str, *, cycle_end: int, due_date: int, now: int
) -> bool:
    """Mark a draft issued at its cycle end (which a termination may have moved); False
    when another transaction issued it first (the row lock makes a concurrent issuer
    wait, then see issued_at set)."""
    result = conn.execute(
        sa.update(_T)
        .where(_T.c.account_id == account_id, _T.c.id == invoice_id, _T.c.issued_at.is_(None))
        .values(issued_at=cycle_end, cycle_end=cycle_end, due_date=due_date, updated_at=now)
    )
    return result.rowcount == 1


def set_figures(conn: sa.Connection, account_id: str, invoice_id: str, *, figures: dict[str, Any], total: Any) -> None:
    conn.execute(
        sa.update(_T).where(_T.c.account_id == account_id, _T.c.id == invoice_id).values(figures=figures, total=total)
    )


def _filters(
    account_id: str,
    *,
    customer_id: str | None,
    status: str | None,
    issued_from: int | None,
    issued_to: int | None,
    now: int,
) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = [_T.c.account_id == account_id]
    if customer_id is not None:
        out.append(_T.c.customer_id == customer_id)
    if issued_from is not None:
        out.append(_T.c.issued_at >= issued_from)
    if issued_to is not None:
        out.append(_T.c.issued_at <= issued_to)
    issued = _T.c.issued_at.is_not(None)
    unpaid = _T.c.paid_at.is_(None)
    if status == "None":
        out.append(_T.c.issued_at.is_(None))
    elif status == "Paid":
        out.append(_T.c.paid_at.is_not(None))
    elif status == "PendingPayment":
        out += [issued, unpaid, _T.c.due_date >= now]
    elif status == "Overdue":
        out += [issued, unpaid, _T.c.due_date < now]
    elif status is not None:  # Rejected: never set by Meterline
        out.append(sa.false())
    return out


def page(conn: sa.Connection, account_id: str, *, after_seq: int, limit: int, **filters: Any) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(_T).where(*_filters(account_id, **filters), _T.c.seq > after_seq).order_by(_T.c.seq).limit(limit + 1)
    )
    return [dict(r._mapping) for r in rows]


def count(conn: sa.Connection, account_id: str, **filters: Any) -> int:
    query = sa.select(sa.func.count()).select_from(_T).where(*_filters(account_id, **filters))
    return int(conn.execute(query).scalar_one())
