"""The official client (vayu-py 0.3.11) on catalog products, plans, contracts, credits, measurements."""

from datetime import UTC, datetime

import httpx
import pytest
from openapi.api.plans_api import PlansApi
from openapi.exceptions import BadRequestException, NotFoundException
from openapi.models.create_catalog_product_request import CreateCatalogProductRequest
from openapi.models.create_measurement_request import CreateMeasurementRequest
from openapi.models.create_measurement_request_usage_date import CreateMeasurementRequestUsageDate
from openapi.models.deduct_credits_request import DeductCreditsRequest
from openapi.models.external_overage_strategy import ExternalOverageStrategy
from openapi.models.grant_credits_request import GrantCreditsRequest
from openapi.models.product_group import ProductGroup
from openapi.models.product_group_commitment import ProductGroupCommitment
from openapi.models.product_group_products_inner import ProductGroupProductsInner
from openapi.models.product_group_products_inner_commitment import ProductGroupProductsInnerCommitment
from openapi.models.product_group_products_inner_pricing import ProductGroupProductsInnerPricing
from openapi.models.product_group_products_inner_pricing_one_of3 import ProductGroupProductsInnerPricingOneOf3
from openapi.models.product_group_products_inner_pricing_one_of3_tiers_inner import (
    ProductGroupProductsInnerPricingOneOf3TiersInner,
)
from openapi.models.product_group_products_inner_pricing_one_of4 import ProductGroupProductsInnerPricingOneOf4
from openapi.models.product_group_products_inner_pricing_one_of5 import ProductGroupProductsInnerPricingOneOf5
from openapi.models.product_group_products_inner_scheduling import ProductGroupProductsInnerScheduling
from openapi.models.product_group_products_inner_scheduling_duration import (
    ProductGroupProductsInnerSchedulingDuration,
)
from openapi.models.update_catalog_product_request import UpdateCatalogProductRequest
from vayu_sdk import Vayu, VayuClient

from meterline.db.engine import Database
from tests.conftest import Account
from tests.contracts import factories as f
from tests.support import LiveServer


def _scheduling() -> ProductGroupProductsInnerScheduling:
    return ProductGroupProductsInnerScheduling(
        billing_day=1, duration=ProductGroupProductsInnerSchedulingDuration(unit="MONTH", value=0)
    )


def test_catalog_products(live_server: LiveServer, account: Account, db: Database) -> None:
    vayu = Vayu(api_key=account.api_key, host=live_server.url)
    meter_id = f.meter(db, account.account_id)
    request = CreateCatalogProductRequest(name="API", description="calls", externalId="p1")
    request.additional_properties["meterId"] = meter_id
    created = vayu.catalog_products.create(request).catalog_product
    assert (
        created.name == "API" and created.external_id == "p1" and created.additional_properties["meterId"] == meter_id
    )
    assert vayu.catalog_products.get(created.id).catalog_product.description == "calls"
    listed = vayu.catalog_products.list()
    assert [p.id for p in listed.catalog_products] == [created.id] and listed.total == 1 and not listed.has_more
    updated = vayu.catalog_products.update(created.id, UpdateCatalogProductRequest(name="API v2")).catalog_product
    assert updated.name == "API v2" and updated.description == "calls"
    deleted = vayu.catalog_products.delete(created.id).catalog_product
    assert deleted.id == created.id and deleted.deleted_at
    with pytest.raises(NotFoundException):
        vayu.catalog_products.get(created.id)


def test_contracts_and_plans(live_server: LiveServer, account: Account, db: Database) -> None:
    vayu = Vayu(api_key=account.api_key, host=live_server.url)
    customer = vayu.customers.create(name="Acme", external_id="acme-1", aliases=["acme"]).customer
    product = vayu.catalog_products.create(CreateCatalogProductRequest(name="Tokens")).catalog_product
    tiered = ProductGroupProductsInner(
        display_name="Tokens",
        scheduling=_scheduling(),
        catalog_product_id=product.id,
        pricing=ProductGroupProductsInnerPricing(
            ProductGroupProductsInnerPricingOneOf3(
                type="TIERED",
                tiers=[
                    ProductGroupProductsInnerPricingOneOf3TiersInner(fromInclusive=0, toExclusive=1000, rate=0.01),
                    ProductGroupProductsInnerPricingOneOf3TiersInner(fromInclusive=1000, rate=0.005),
                ],
                usageReset=1,
            )
        ),
        commitment=ProductGroupProductsInnerCommitment(
            units=1000.5, price=10, overageStrategy=ExternalOverageStrategy.BLOCK
        ),
    )
    rebate = ProductGroupProductsInner(
        display_name="Rebate",
        scheduling=_scheduling(),
        pricing=ProductGroupProductsInnerPricing(
            # vayu-py 0.3.11 cannot read back a deduction with `installments` (its CONTRACT_TERMS
            # parser raises TypeError on the integer): the server stores it, the client cannot parse it.
            ProductGroupProductsInnerPricingOneOf5(type="FIXED_DEDUCTION", amountToDeduct=12.34)
        ),
    )
    group = ProductGroup(
        displayName="Bundle",
        products=[
            ProductGroupProductsInner(
                display_name="Calls",
                scheduling=_scheduling(),
                catalog_product_id=product.id,
                pricing=ProductGroupProductsInnerPricing(
                    ProductGroupProductsInnerPricingOneOf4(type="PER_UNIT", price=0.002, chunkSize=100)
                ),
            )
        ],
        commitment=ProductGroupCommitment(units=50),
    )
    created = vayu.contracts.create(
        name="Enterprise",
        customer_id=customer.id,
        start_date=datetime(2026, 1, 31, tzinfo=UTC),
        end_date=datetime(2027, 1, 31, tzinfo=UTC),
        products=[tiered, rebate],
        product_groups=[group],
    ).contract
    assert created.status.value == "Active" and created.customer_id == customer.id
    assert created.start_date == datetime(2026, 1, 31, tzinfo=UTC)
    got = vayu.contracts.get(created.id).contract
    line = got.products[0]
    assert line.commitment.units == 1000.5 and line.commitment.overage_strategy == ExternalOverageStrategy.BLOCK
    pricing = line.pricing.actual_instance
    assert isinstance(pricing, ProductGroupProductsInnerPricingOneOf3) and pricing.tiers[1].rate == 0.005
    assert got.products[1].pricing.actual_instance.amount_to_deduct == 12.34
    assert got.product_groups[0].products[0].pricing.actual_instance.chunk_size == 100
    listed = vayu.contracts.list()
    assert [c.id for c in listed.contracts] == [created.id] and listed.total == 1

    with pytest.raises(BadRequestException):
        vayu.contracts.create(
            name="Bad",
            customer_id=customer.id,
            start_date=datetime(2026, 1, 31, tzinfo=UTC),
            end_date=datetime(2025, 1, 31, tzinfo=UTC),
        )
    with pytest.raises(NotFoundException):
        vayu.contracts.create(name="Nobody", customer_id="0" * 24, start_date=datetime(2026, 1, 1, tzinfo=UTC))

    deleted = vayu.contracts.delete(created.id).contract
    assert deleted.id == created.id and deleted.deleted_at
    with pytest.raises(NotFoundException):
        vayu.contracts.get(created.id)

    # plans: created through our extension, read through the client
    token = httpx.post(f"{live_server.url}/login", json={"refreshToken": account.api_key}).json()["accessToken"]
    # no paymentTerm: vayu-py 0.3.11 raises NameError parsing a plan that has one (a client bug)
    billing = {"billingInterval": "Monthly", "duration": 12, "autoRenewal": True}
    resp = httpx.post(
        f"{live_server.url}/plans",
        json={"name": "Pro", "billingData": billing},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 200, resp.text
    plans = PlansApi(VayuClient(account.api_key, live_server.url).client)
    plan_id = resp.json()["plan"]["id"]
    plan = plans.get_plan(plan_id).plan
    assert (
        plan.name == "Pro" and plan.billing_data.billing_interval.value == "Monthly" and plan.status.value == "Active"
    )
    listed_plans = plans.list_plans()
    assert [p.id for p in listed_plans.plans] == [plan_id] and listed_plans.total == 1
    assert plans.delete_plan(plan_id).plan.deleted_at
    with pytest.raises(NotFoundException):
        plans.get_plan(plan_id)


def test_credits_and_measurements(live_server: LiveServer, account: Account, db: Database) -> None:
    vayu = Vayu(api_key=account.api_key, host=live_server.url)
    customer = vayu.customers.create(name="Acme", external_id="acme-2").customer
    vayu.credits.grant(GrantCreditsRequest(creditAmount=10.5, customerId=customer.id))
    vayu.credits.deduct(DeductCreditsRequest(creditAmount=0.25, customerId=customer.id))
    with pytest.raises(BadRequestException):
        vayu.credits.deduct(DeductCreditsRequest(creditAmount=100, customerId=customer.id))
    entries = vayu.credits.list_ledger_entries(customer.id).entries
    assert [(e.type.value, e.amount, e.balance_after_entry) for e in entries] == [
        ("Grant", 10.5, 10.5),
        ("Deduct", 0.25, 10.25),
    ]

    meter_id = f.meter(db, account.account_id)
    request = CreateMeasurementRequest(
        customerId=customer.id,
        meterId=meter_id,
        usageDate=CreateMeasurementRequestUsageDate(year=2026, month=2, day=28),
        value=42.5,
    )
    m = vayu.measurements.create(request).measurement
    assert m.value == 42.5 and m.usage_date.month == 2 and m.customer_id == customer.id
    assert vayu.measurements.get(m.id).measurement.meter_id == meter_id
    listed = vayu.measurements.list()
    assert [x.id for x in listed.measurements] == [m.id] and listed.total == 1
    assert vayu.measurements.delete(m.id).measurement.deleted_at
    with pytest.raises(NotFoundException):
        vayu.measurements.get(m.id)
