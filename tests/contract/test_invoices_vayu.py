"""Invoices through the official client (vayu-py 0.3.11) against a real server."""

import httpx
import pytest
from openapi.exceptions import NotFoundException
from openapi.models.invoice_billing_status import InvoiceBillingStatus
from vayu_sdk import Vayu

from meterline.db.engine import Database
from tests.conftest import Account, make_account
from tests.support import LiveServer


def test_invoices_with_the_official_client(live_server: LiveServer, account: Account, db: Database) -> None:
    vayu = Vayu(api_key=account.api_key, host=live_server.url)
    customer = vayu.customers.create(name="Acme", external_id="acme-1").customer
    token = httpx.post(f"{live_server.url}/login", json={"refreshToken": account.api_key}).json()["accessToken"]
    body = {
        "customerId": customer.id,
        "name": "Acme deal",
        "startDate": "2025-01-01T00:00:00Z",
        "endDate": "2025-03-01T00:00:00Z",
        "products": [
            {
                "displayName": "Platform",
                "scheduling": {"billingDay": 1, "duration": {"unit": "MONTH", "value": 0}},
                "pricing": {
                    "type": "SUBSCRIPTION",
                    "price": 99.99,
                    "subscriptionCadence": {"unit": "MONTH", "value": 1},
                    "discount": {"name": "launch", "type": "PERCENTAGE", "amount": 15, "recurring": 1},
                },
            }
        ],
    }
    resp = httpx.post(f"{live_server.url}/contracts", json=body, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text

    listed = vayu.invoices.list()
    assert listed.total == 2 and not listed.has_more
    first, second = listed.invoices
    assert first.revenue_breakdown.subtotal == 99.99 and first.revenue_breakdown.discount == 15
    assert first.amount == 84.99 and second.amount == 99.99
    assert first.billing_status == InvoiceBillingStatus.OVERDUE
    assert len(first.line_items) == 1 and first.line_items[0].invoice_id == first.id

    got = vayu.invoices.get(first.id).invoice
    assert got.id == first.id and got.billing_cycle.start_time.isoformat().startswith("2025-01-01T00:00:00")
    status = vayu.invoices.get_payment_status(first.id)
    assert status.invoice_id == first.id and status.amount_due == 84.99 and status.amount_paid == 0

    other = Vayu(api_key=make_account(db, "other").api_key, host=live_server.url)
    with pytest.raises(NotFoundException):
        other.invoices.get(first.id)
