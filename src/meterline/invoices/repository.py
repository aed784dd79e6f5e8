"""All SQL of invoices. Every query filters on account_id."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from meterline.db.tables.billing import invoice_payments, invoices

_T = invoices
_P = invoice_payments


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


# ---- payments --------------------------------------------------------------------------


def lock(conn: sa.Connection, account_id: str, invoice_id: str, now: int) -> None:
    """Touch the invoice row: on PostgreSQL its row lock serialises payments of one invoice
    (a second payer waits, then sees the first's payment); SQLite's write transaction is
    exclusive already."""
    conn.execute(sa.update(_T).where(_T.c.account_id == account_id, _T.c.id == invoice_id).values(updated_at=now))


def insert_payment(conn: sa.Connection, *, values: dict[str, Any]) -> bool:
    """False when the invoice already has a payment with this reference (nothing written)."""
    cols = ["account_id", "invoice_id", "reference"]
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(_P).values(**values).on_conflict_do_nothing(index_elements=cols)
    else:
        stmt = sqlite.insert(_P).values(**values).on_conflict_do_nothing(index_elements=cols)
    return conn.execute(stmt.returning(_P.c.id)).first() is not None


def payment_by_reference(
    conn: sa.Connection, account_id: str, invoice_id: str, reference: str
) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(_P).where(_P.c.account_id == account_id, _P.c.invoice_id == invoice_id, _P.c.reference == reference)
    ).first()
    return dict(row._mapping) if row else None


def payments(conn: sa.Connection, account_id: str, invoice_id: str) -> list[dict[str, Any]]:
    """The invoice's payments in the order they were recorded."""
    rows = conn.execute(
        sa.select(_P).where(_P.c.account_id == account_id, _P.c.invoice_id == invoice_id).order_by(_P.c.seq)
    )
    return [dict(r._mapping) for r in rows]


def set_paid_at(conn: sa.Connection, account_id: str, invoice_id: str, paid_at: int | None) -> None:
    conn.execute(sa.update(_T).where(_T.c.account_id == account_id, _T.c.id == invoice_id).values(paid_at=paid_at))


# ---- the Overdue scan (spans accounts: a background job) --------------------------------


def newly_overdue(conn: sa.Connection, *, now: int, limit: int) -> list[dict[str, Any]]:
    """Issued, unpaid invoices past their due date whose turn to Overdue was not announced
    yet (the partial index ix_invoices_overdue_pending: each invoice is read once)."""
    query = (
        sa.select(_T)
        .where(_T.c.issued_at.is_not(None), _T.c.paid_at.is_(None), _T.c.overdue_noted_at.is_(None))
        .where(_T.c.due_date < now)
        .order_by(_T.c.due_date)
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def note_overdue(conn: sa.Connection, account_id: str, invoice_id: str, now: int) -> bool:
    """Mark the turn announced; False when another scanner did first."""
    result = conn.execute(
        sa.update(_T)
        .where(_T.c.account_id == account_id, _T.c.id == invoice_id, _T.c.overdue_noted_at.is_(None))
        .values(overdue_noted_at=now)
    )
    return result.rowcount == 1


def issued_between(
    conn: sa.Connection, account_id: str, customer_id: str, start_us: int, end_us: int
) -> list[dict[str, Any]]:
    """The customer's invoices issued in [start_us, end_us), in issue order (MonthEndReport)."""
    rows = conn.execute(
        sa.select(_T)
        .where(_T.c.account_id == account_id, _T.c.customer_id == customer_id)
        .where(_T.c.issued_at >= start_us, _T.c.issued_at < end_us)
        .order_by(_T.c.issued_at, _T.c.seq)
    )
    return [dict(r._mapping) for r in rows]
