"""to_wire produces exactly what vayu-py parses for GET /invoices/{invoiceId}."""

from decimal import Decimal

from openapi.models.get_invoice_response import GetInvoiceResponse
from openapi.models.invoice_billing_status import InvoiceBillingStatus

from meterline.invoices.cycles import cycles
from meterline.invoices.totals import compute_invoice
from meterline.invoices.wire import BillingStatus, InvoiceMeta, billing_status, due_date, invoice_name, to_wire
from meterline.kit import jsonenc
from meterline.kit.times import iso_us
from tests.invoices.factories import commitment, contract, discount, line, per_unit, subscription

D = Decimal
DAY = 86_400_000_000


def test_to_wire_parses_with_the_official_client() -> None:
    c = contract(
        line(subscription("99.99", discount=discount("PERCENTAGE", "15")), name="Platform"),
        line(per_unit("0.10"), name="Events", commitment=commitment("10000", "800")),
    )
    cycle = cycles(c)[0]
    amounts = compute_invoice(c, cycle, {1: D("12345")}, D("50"))
    meta = InvoiceMeta(
        id="0123456789abcdef0123abcd",
        account_id="aaaaaaaaaaaaaaaaaaaaaaaa",
        customer_id="0123456789abcdef01234567",
        contract_id="bbbbbbbbbbbbbbbbbbbbbbbb",
        name=invoice_name("Acme 2026", cycle),
        billing_status=BillingStatus.PENDING_PAYMENT,
        due_date=due_date(cycle.end),
        created_at=cycle.end,
        updated_at=cycle.end,
    )
    body = jsonenc.dumps(to_wire(amounts, meta))
    parsed = GetInvoiceResponse.from_json(body.decode()).invoice
    assert parsed.name == "Acme 2026: 2026-01-01 to 2026-02-01"
    assert parsed.billing_status == InvoiceBillingStatus.PENDINGPAYMENT
    assert parsed.billing_cycle.start_time.isoformat() == "2026-01-01T00:00:00+00:00"
    assert parsed.billing_cycle.end_time.isoformat() == "2026-02-01T00:00:00+00:00"
    assert parsed.due_date is not None and parsed.due_date.isoformat() == "2026-03-03T00:00:00+00:00"
    rb = parsed.revenue_breakdown
    # subtotal 99.99 + 1034.50; discount 15.00; credits 50; total 1069.49
    assert (rb.subtotal, rb.discount, rb.overage, rb.credits_used, rb.tax, rb.total) == (
        1134.49,
        15,
        234.5,
        50,
        0,
        1069.49,
    )
    assert parsed.amount == 1069.49
    assert [li.invoice_id for li in parsed.line_items] == [meta.id, meta.id]
    assert [li.revenue_breakdown.total for li in parsed.line_items] == [84.99, 1034.5]
    assert parsed.contract_id == meta.contract_id
    # the exact decimal text is on the wire
    assert b'"subtotal":1134.49' in body
    assert iso_us(cycle.start) in body.decode()


def test_billing_status() -> None:
    due = due_date(0, 30)
    assert due == 30 * DAY
    assert due_date(0, 7) == 7 * DAY
    assert due_date(0, None) == 30 * DAY
    assert due_date(0, "SAME_DAY") == 0
    assert due_date(0, "45_DAYS") == 45 * DAY
    assert due_date(0, "90_DAYS") == 90 * DAY
    assert due_date(0, "END_OF_MONTH") == 31 * DAY  # 1970-01-01 -> 1970-02-01
    assert due_date(14 * DAY, "END_OF_MONTH") == 31 * DAY
    assert billing_status(issued=False, paid=False, due=None, now=0) == BillingStatus.NONE
    assert billing_status(issued=True, paid=False, due=due, now=due) == BillingStatus.PENDING_PAYMENT
    assert billing_status(issued=True, paid=False, due=due, now=due + 1) == BillingStatus.OVERDUE
    assert billing_status(issued=True, paid=True, due=due, now=due + 1) == BillingStatus.PAID
    assert str(BillingStatus.NONE) == "None"
