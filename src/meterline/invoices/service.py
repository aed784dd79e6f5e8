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


def issue_limit(contract: sources.ContractView, *, until: int, now: int, grace_us: int) -> int | None:
    """The latest cycle end the contract may issue: `until`, less the grace (cycles are
    issued `grace_us` after they end), and nothing (None) while the contract itself is
    younger than the grace (a contract created with a past start: its past cycles wait,
    so events backfilled meanwhile are billed). grace_us 0: `until` as given."""
    if grace_us <= 0:
        return until
    if contract.created_at + grace_us > now:
        return None
    return min(until, now - grace_us)


@exact
def catch_up(
    conn: sa.Connection,
    *,
    account_id: str,
    until: int,
    now: int,
    customer_id: str | None = None,
    grace_us: int = 0,
) -> list[Issued]:
    """Issue every cycle that ended at or before `until` (per customer in date order), less
    the grace (see issue_limit); closed cycles the grace holds back, and the cycle open at
    `now`, get their draft rows. Idempotent."""
    contracts = sources.contracts(conn, account_id, customer_id=customer_id)
    due: list[tuple[int, int, sources.ContractView, Cycle]] = []
    held: list[tuple[sources.ContractView, Cycle]] = []
    for order, contract in enumerate(contracts):
        rows = repo.by_contract(conn, account_id, contract.id)
        limit = issue_limit(contract, until=until, now=now, grace_us=grace_us)
        for cycle in closed_cycles(contract.doc, until=until):
            row = rows.get(cycle.start)
            if row is not None and row["issued_at"] is not None:
                continue
            if limit is not None and cycle.end <= limit:
                due.append((cycle.end, order, contract, cycle))
            else:
                held.append((contract, cycle))
    issued: list[Issued] = []
    for _end, _order, contract, cycle in sorted(due, key=lambda t: (t[0], t[1])):
        done = _issue(conn, account_id, contract, cycle, now)
        if done is not None:
            issued.append(done)
    for contract, cycle in held:
        _row_for(conn, account_id, contract, cycle, now)
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


def status_of(row: dict[str, Any], now: int) -> BillingStatus:
    return billing_status(
        issued=row["issued_at"] is not None, paid=row["paid_at"] is not None, due=row["due_date"], now=now
    )


def _due(conn: sa.Connection, account_id: str, row: dict[str, Any], amounts: InvoiceAmounts) -> int:
    """An issued invoice's stored due date; a draft's: its cycle end + the customer's dueDays."""
    if row["due_date"] is not None:
        return int(row["due_date"])
    return due_date(amounts.cycle.end, sources.due_days(conn, account_id, row["customer_id"]))


def to_wire(
    conn: sa.Connection, account_id: str, row: dict[str, Any], now: int, *, unbilled: bool = True
) -> dict[str, Any]:
    """The invoice's wire dict; `unbilled` False leaves out `unbilledUsage` (a usage read of
    the cycle per issued invoice) for lists that do not show it (the dashboard's)."""
    amounts = _amounts(conn, account_id, row)
    meta = InvoiceMeta(
        id=row["id"],
        account_id=account_id,
        customer_id=row["customer_id"],
        contract_id=row["contract_id"],
        name=row["name"],
        billing_status=status_of(row, now),
        due_date=_due(conn, account_id, row, amounts),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        product_names=sources.product_names(
            conn,
            account_id,
            [str(x.detail["catalogProductId"]) for x in amounts.lines if x.detail.get("catalogProductId")],
        ),
    )
    out = invoice_wire(amounts, meta)
    paid_rows = repo.payments(conn, account_id, row["id"])
    out.update(payment_figures(conn, account_id, row, amounts.total, paid_rows))
    last = paid_rows[-1:]
    if last:  # Vayu's PaymentInfo: the last payment recorded
        out["paymentInfo"] = {
            "transactionId": last[0]["reference"],
            "date": iso_us(last[0]["paid_at"]),
            "amount": last[0]["amount"],
            "customerId": row["customer_id"],
        }
    if unbilled and row["issued_at"] is not None:
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


def row_caught_up(conn: sa.Connection, account_id: str, invoice_id: str, now: int, grace_us: int) -> dict[str, Any]:
    """The invoice's row, issued first when its cycle has ended (past the grace). 404 if none."""
    row = repo.get(conn, account_id, invoice_id)
    if row is None:
        raise NotFound(f"Invoice {invoice_id} not found.", param="invoiceId")
    if row["issued_at"] is None:  # its cycle may have ended (or been cut short by a termination)
        catch_up(conn, account_id=account_id, until=now, now=now, customer_id=row["customer_id"], grace_us=grace_us)
        row = repo.get(conn, account_id, invoice_id)
        assert row is not None
    return row


@exact
def get(conn: sa.Connection, *, account_id: str, invoice_id: str, now: int, grace_us: int = 0) -> dict[str, Any]:
    return to_wire(conn, account_id, row_caught_up(conn, account_id, invoice_id, now, grace_us), now)


def payment_figures(
    conn: sa.Connection,
    account_id: str,
    row: dict[str, Any],
    total: Decimal,
    paid_rows: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """amountPaid (sum of the payments), amountDue (total - amountPaid) and paidAt (the
    instant of the last payment, once amountDue is 0; else null). A draft has none paid.
    paid_rows: the invoice's payments when the caller has read them already."""
    if paid_rows is None:
        paid_rows = repo.payments(conn, account_id, row["id"])
    paid = sum((p["amount"] for p in paid_rows), Decimal(0))
    return {
        "amountPaid": paid,
        "amountDue": total - paid,
        "paidAt": None if row["paid_at"] is None else iso_us(row["paid_at"]),
    }


@exact
def payment_status(
    conn: sa.Connection, *, account_id: str, invoice_id: str, now: int, grace_us: int = 0
) -> dict[str, Any]:
    row = row_caught_up(conn, account_id, invoice_id, now, grace_us)
    amounts = _amounts(conn, account_id, row)
    figures = payment_figures(conn, account_id, row, amounts.total)
    out: dict[str, Any] = {
        "invoiceId": row["id"],
        "billingStatus": status_of(row, now).value,
        "amountDue": figures["amountDue"],
        "amountPaid": figures["amountPaid"],
        "total": amounts.total,
        "dueDate": iso_us(_due(conn, account_id, row, amounts)),
    }
    if figures["paidAt"] is not None:
        out["paidAt"] = figures["paidAt"]
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
    grace_us: int = 0,
    unbilled: bool = True,
) -> Page:
    """GET /invoices: ended cycles issued first (catch_up), then a page of the account's
    invoices, filtered; `unbilled` False: without unbilledUsage (to_wire)."""
    if billing_status is not None and billing_status not in STATUSES:
        raise InvalidParameter(f"billingStatus must be one of {', '.join(sorted(STATUSES))}", param="billingStatus")
    if customer_id is not None and not sources.customer_exists(conn, account_id, customer_id):
        raise NotFound(f"Customer {customer_id} not found.", param="customerId")
    catch_up(conn, account_id=account_id, until=now, now=now, customer_id=customer_id, grace_us=grace_us)
    filters: dict[str, Any] = {
        "customer_id": customer_id,
        "status": billing_status,
        "issued_from": issued_from,
        "issued_to": issued_to,
        "now": now,
    }
    rows = repo.page(conn, account_id, after_seq=page.after_seq, limit=page.limit, **filters)
    items = [(r["seq"], to_wire(conn, account_id, r, now, unbilled=unbilled)) for r in rows]
    return make_page(items, limit=page.limit, total=repo.count(conn, account_id, **filters))


def status_counts(conn: sa.Connection, *, account_id: str, now: int) -> dict[str, int]:
    """{"PendingPayment": n, "Overdue": n}: issued, unpaid invoices by billing status at
    `now`, as GET /invoices?billingStatus= counts them (without issuing ended cycles first)."""
    return {s: repo.count(conn, account_id, **_status_filter(s, now)) for s in ("PendingPayment", "Overdue")}


def _status_filter(status: str, now: int) -> dict[str, Any]:
    return {"customer_id": None, "status": status, "issued_from": None, "issued_to": None, "now": now}
