"""The official client (vayu-py 0.3.11) on the seed's endpoint: products consumptions, now."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openapi.exceptions import NotFoundException
from openapi.models.create_catalog_product_request import CreateCatalogProductRequest
from openapi.models.external_overage_strategy import ExternalOverageStrategy
from openapi.models.product_group_products_inner import ProductGroupProductsInner
from openapi.models.product_group_products_inner_commitment import ProductGroupProductsInnerCommitment
from openapi.models.product_group_products_inner_pricing import ProductGroupProductsInnerPricing
from openapi.models.product_group_products_inner_pricing_one_of4 import ProductGroupProductsInnerPricingOneOf4
from openapi.models.product_group_products_inner_scheduling import ProductGroupProductsInnerScheduling
from openapi.models.product_group_products_inner_scheduling_duration import (
    ProductGroupProductsInnerSchedulingDuration,
)
from vayu_sdk import Vayu

from meterline.contracts.windows import add_months_dt
from meterline.db.engine import Database
from tests.conftest import Account
from tests.metering.factories import create_meter, event, send
from tests.support import LiveServer


def test_products_consumptions_with_the_official_client(
    live_server: LiveServer, account: Account, db: Database, api: TestClient
) -> None:
    vayu = Vayu(api_key=account.api_key, host=live_server.url)
    customer = vayu.customers.create(name="Acme", external_id="acme-1", aliases=["acme"]).customer
    meter = create_meter(api, operator="Sum", event_name="tokens")
    request = CreateCatalogProductRequest(name="Tokens")
    request.additional_properties["meterId"] = meter["id"]
    product = vayu.catalog_products.create(request).catalog_product
    line = ProductGroupProductsInner(
        display_name="Tokens",
        catalog_product_id=product.id,
        scheduling=ProductGroupProductsInnerScheduling(
            duration=ProductGroupProductsInnerSchedulingDuration(unit="MONTH", value=0)
        ),
        pricing=ProductGroupProductsInnerPricing(ProductGroupProductsInnerPricingOneOf4(type="PER_UNIT", price=0.5)),
        commitment=ProductGroupProductsInnerCommitment(units=8, overageStrategy=ExternalOverageStrategy.BLOCK),
    )
    now = datetime.now(UTC)
    vayu.contracts.create(name="Pro", customer_id=customer.id, start_date=now - timedelta(hours=2), products=[line])
    ts = (now - timedelta(hours=1)).isoformat()
    send(api, [event("e1", ts=ts, name="tokens", value="0.1"), event("e2", ts=ts, name="tokens", value=0.2)])

    [entry] = vayu.customers.get_products_consumptions(customer.id).products_consumptions
    assert (entry.product_id, entry.product_name) == (product.id, "Tokens")
    assert (entry.provisioned_amount, entry.consumed_amount, entry.usage_percentage) == (8, 0.3, 3.75)
    assert (entry.remaining_amount, entry.exceeded_amount, entry.has_access) == (7.7, 0, True)
    # The window fields are extensions: the client's model keeps them as additional properties.
    assert set(entry.additional_properties) == {"windowStart", "windowEnd"}
    window = [datetime.fromisoformat(entry.additional_properties[k]) for k in ("windowStart", "windowEnd")]
    assert window[0] == now - timedelta(hours=2) and window[1] == add_months_dt(window[0], 1)
    by_alias = vayu.customers.get_products_consumptions_by_alias("acme").products_consumptions
    assert [e.consumed_amount for e in by_alias] == [0.3]
    total = vayu.product_consumptions.get(product.id).product_consumption
    assert (total.provisioned_amount, total.consumed_amount, total.has_access) == (8, 0.3, True)
    with pytest.raises(NotFoundException):
        vayu.customers.get_products_consumptions("0" * 24)
