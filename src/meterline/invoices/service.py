"""Invoice use cases: drafts for open cycles, issuing closed ones, reading them.

Every contract cycle has one invoice row. The open cycle's row is a draft whose figures
follow usage (computed on read); when the cycle ends it is issued: figures computed at
the cycle end (usage of the whole cycle, the credit balance at issue), credits deducted
from the ledger with the invoice's id, and the figures frozen. Issuing is idempotent and
safe under concurrency (see repository.claim_issue). Reads catch up first: a closed
cycle is issued before it is shown, so an invoice never reads as a draft after its cycle.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from meterline.invoices import repository as repo
from meterline.invoices import sources, store
from meterline.invoices.cycles import Cycle, closed_cycles, cycle_at, cycles
from meterline.invoices.totals import InvoiceAmounts, compute_invoice
from meterline.invoices.wire import BillingStatus, InvoiceMeta, billing_status, due_date, invoice_name, invoice_wire
from meterline.kit.decimals import exact
from meterline.kit.errors import InvalidParameter, NotFound
from meterline.kit.ids import new_id
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import iso_us

STATUSES = frozenset(s.value for s in BillingStatus)


@dataclass(frozen=True, slots=True)
class Issued:
    invoice_id: str
    contract_id: str
    cycle: Cycle
    amounts: InvoiceAmounts


def _row_for(
    conn: sa.Connection, account_id: str, contract: sources.ContractView, cycle: Cycle, now: int
) -> dict[str, Any]:
    row = repo.get_by_cycle(conn, account_id, contract.id, cycle.start)
    if row is None:
        repo.insert_draft(
            conn,
            values={
                "id": new_id(),
                "account_id": account_id,
                "customer_id": contract.customer_id,
                "contract_id": contract.id,
                "cycle_index": cycle.index,
                "cycle_start": cycle.start,
                "cycle_end": cycle.end,
                "name": invoice_name(contract.name, cycle),
                "created_at": now,
                "updated_at": now,
            },
        )
        row = repo.get_by_cycle(conn, account_id, contract.id, cycle.start)
    assert row is not None
    return row


def _issue(
    conn: sa.Connection, account_id: str, contract: sources.ContractView, cycle: Cycle, now: int
) -> Issued | None:
    row = _row_for(conn, account_id, contract, cycle, now)
    if row["issued_at"] is not None:
        return None
    due = due_date(cycle.end, sources.due_days(conn, account_id, contract.customer_id))
    if not repo.claim_issue(conn, account_id, row["id"], cycle_end=cycle.end, due_date=due, now=now):
        return None
    usage = sources.cycle_usage(conn, account_id, contract, cycle)
    balance = sources.credit_balance(conn, account_id, contract.customer_id)
    amounts = compute_invoice(contract.doc, cycle, usage, balance)
    if amounts.credits_used > 0:
        sources.deduct_credits(
            conn,
            account_id=account_id,
            customer_id=contract.customer_id,
            amount=amounts.credits_used,
            invoice_id=row["id"],
            contract_id=contract.id,
        )
    repo.set_figures(conn, account_id, row["id"], figures=store.to_doc(amounts), total=amounts.total)
    sources.notify_issued(
        conn,
        account_id=account_id,
        invoice_id=row["id"],
        view=contract,
        cycle=cycle,
        total=amounts.total,
        due_date_us=due,
    )
    return Issued(row["id"], contract.id, cycle, amounts)


@exact
def catch_up(
    conn: sa.Connection, *, account_id: str, until: int, now: int, customer_id: str | None = None
) -> list[Issued]:
    """Issue every cycle that ended at or before `until` (per customer in date order) and
    make sure the cycle open at `now` has its draft row. Idempotent."""
    contracts = sources.contracts(conn, account_id, customer_id=customer_id)
    due: list[tuple[int, int, sources.ContractView, Cycle]] = []
    for order, contract in enumerate(contracts):
        rows = repo.by_contract(conn, account_id, contract.id)
        for cycle in closed_cycles(contract.doc, until=until):
            row = rows.get(cycle.start)
            if row is None or row["issued_at"] is None:
                due.append((cycle.end, order, contract, cycle))
    issued: list[Issued] = []
    for _end, _order, contract, cycle in sorted(due, key=lambda t: (t[0], t[1])):
        done = _issue(conn, account_id, contract, cycle, now)
        if done is not None:
            issued.append(done)
    for contract in contracts:
        open_cycle = cycle_at(contract.doc, now)
        if open_cycle is not None and open_cycle.end > until:
            _row_for(conn, account_id, contract, open_cycle, now)
    return issued


def _amounts(conn: sa.Connection, account_id: str, row: dict[str, Any]) -> InvoiceAmounts:
    if row["issued_at"] is not None and row["figures"] is not None:
        return store.from_doc(row["figures"])
    contract = sources.contract(conn, account_id, row["contract_id"])
    found = (
        None
        if contract is None
        else [c for c in cycles(contract.doc, until=row["cycle_end"]) if c.start == row["cycle_start"]]
    )
    if contract is None or not found:
        # The contract was deleted or shortened after the draft was made: nothing to bill.
        cycle = Cycle(row["cycle_index"], row["cycle_start"], row["cycle_end"], row["cycle_start"], row["cycle_end"])
        return InvoiceAmounts(cycle, (), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    cycle = found[0]
    usage = sources.cycle_usage(conn, account_id, contract, cycle)
    balance = sources.credit_balance(conn, account_id, contract.customer_id)
    return compute_invoice(contract.doc, cycle, usage, balance)


def _status(row: dict[str, Any], now: int) -> BillingStatus:
    return billing_status(
        issued=row["issued_at"] is not None, paid=row["paid_at"] is not None, due=row["due_date"], now=now
    )


def to_wire(conn: sa.Connection, account_id: str, row: dict[str, Any], now: int) -> dict[str, Any]:
    meta = InvoiceMeta(
        id=row["id"],
        account_id=account_id,
        customer_id=row["customer_id"],
        contract_id=row["contract_id"],
        name=row["name"],
        billing_status=_status(row, now),
        due_date=row["due_date"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
    amounts = _amounts(conn, account_id, row)
    out = invoice_wire(amounts, meta)
    if row["issued_at"] is not None:
        late = _unbilled_usage(conn, account_id, row, amounts)
        if late:
            out["unbilledUsage"] = late
    return out


def _unbilled_usage(
    conn: sa.Connection, account_id: str, row: dict[str, Any], amounts: InvoiceAmounts
) -> list[dict[str, Any]]:
    """An issued invoice is frozen; usage that changed in its cycle afterwards (late or
    deleted events, new measurements) is reported here, per usage line, not billed."""
    contract = sources.contract(conn, account_id, row["contract_id"])
    if contract is None:
        return []
    now_usage = sources.cycle_usage(conn, account_id, contract, amounts.cycle)
    report = []
    for line in amounts.lines:
        current = now_usage.get(line.index)
        if current is not None and current != line.usage:
            report.append(
                {
                    "lineIndex": line.index,
                    "displayName": line.display_name,
                    "billedUsage": line.usage,
                    "currentUsage": current,
                    "unbilledUsage": current - line.usage,
                }
            )
    return report


def _row(conn: sa.Connection, account_id: str, invoice_id: str, now: int) -> dict[str, Any]:
    row = repo.get(conn, account_id, invoice_id)
    if row is None:
        raise NotFound(f"Invoice {invoice_id} not found.", param="invoiceId")
    if row["issued_at"] is None:  # its cycle may have ended (or been cut short by a termination)
        catch_up(conn, account_id=account_id, until=now, now=now, customer_id=row["customer_id"])
        row = repo.get(conn, account_id, invoice_id)
        assert row is not None
    return row


@exact
def get(conn: sa.Connection, *, account_id: str, invoice_id: str, now: int) -> dict[str, Any]:
    return to_wire(conn, account_id, _row(conn, account_id, invoice_id, now), now)


@exact
def payment_status(conn: sa.Connection, *, account_id: str, invoice_id: str, now: int) -> dict[str, Any]:
    row = _row(conn, account_id, invoice_id, now)
    total = _amounts(conn, account_id, row).total
    paid = row["paid_at"] is not None
    out: dict[str, Any] = {
        "invoiceId": row["id"],
        "billingStatus": _status(row, now).value,
        "amountDue": Decimal(0) if paid else total,
        "amountPaid": total if paid else Decimal(0),
        "total": total,
        "dueDate": None if row["due_date"] is None else iso_us(row["due_date"]),
    }
    if paid:
        out["paidAt"] = iso_us(row["paid_at"])
    return out


@exact
def list_page(
    conn: sa.Connection,
    *,
    account_id: str,
    page: PageRequest,
    now: int,
    customer_id: str | None = None,
    billing_status: str | None = None,
    issued_from: int | None = None,
    issued_to: int | None = None,
) -> Page:
    if billing_status is not None and billing_status not in STATUSES:
        raise InvalidParameter(f"billingStatus must be one of {', '.join(sorted(STATUSES))}", param="billingStatus")
    if customer_id is not None and not sources.customer_exists(conn, account_id, customer_id):
        raise NotFound(f"Customer {customer_id} not found.", param="customerId")
    catch_up(conn, account_id=account_id, until=now, now=now, customer_id=customer_id)
    filters: dict[str, Any] = {
        "customer_id": customer_id,
        "status": billing_status,
        "issued_from": issued_from,
        "issued_to": issued_to,
        "now": now,
    }
    rows = repo.page(conn, account_id, after_seq=page.after_seq, limit=page.limit, **filters)
    items = [(r["seq"], to_wire(conn, account_id, r, now)) for r in rows]
    return make_page(items, limit=page.limit, total=repo.count(conn, account_id, **filters))
