"""Every operation of the official client (vayu-py 0.3.11) against a live server.

The client's operations are enumerated from the package itself: the public methods of the
generated `openapi.api.*Api` classes (61), of the `vayu_sdk.apis.*API` wrappers (47) and of
the `Vayu` facade (`login`): 109. One scenario calls each through a recorder that names the
operation from the bound method it runs, and checks each answer (parsed models, key
fields); the test then asserts that every enumerated operation was called.

PENDING_MERGE lists operations that cannot be driven on this branch yet (they depend on
another branch's work): the lead empties it when the branches are merged. It is empty:
every operation answers on this branch.
"""

import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import openapi.api
import pytest
import vayu_sdk.apis
from openapi.api import (
    AuthApi,
    CatalogProductsApi,
    CloudUsageSubmissionApi,
    ContractsApi,
    CreditsApi,
    CustomersApi,
    CustomFieldsApi,
    EventsApi,
    InvoicesApi,
    MeasurementsApi,
    MetersApi,
    PlansApi,
    ProductConsumptionsApi,
    WebhooksApi,
)
from openapi.exceptions import NotFoundException
from openapi.models.aggregation_method import AggregationMethod
from openapi.models.aggregation_operator import AggregationOperator
from openapi.models.create_catalog_product_request import CreateCatalogProductRequest
from openapi.models.create_contract_request import CreateContractRequest
from openapi.models.create_custom_field_request import CreateCustomFieldRequest
from openapi.models.create_customer_relation_request import CreateCustomerRelationRequest
from openapi.models.create_customer_request import CreateCustomerRequest
from openapi.models.create_measurement_request import CreateMeasurementRequest
from openapi.models.create_measurement_request_usage_date import CreateMeasurementRequestUsageDate
from openapi.models.deduct_credits_request import DeductCreditsRequest
from openapi.models.delete_events_by_refs_request import DeleteEventsByRefsRequest
from openapi.models.event import Event
from openapi.models.events_dry_run_request import EventsDryRunRequest
from openapi.models.external_overage_strategy import ExternalOverageStrategy
from openapi.models.grant_credits_request import GrantCreditsRequest
from openapi.models.integration_type import IntegrationType
from openapi.models.login_request import LoginRequest
from openapi.models.notification_event_type import NotificationEventType
from openapi.models.product_group_products_inner import ProductGroupProductsInner
from openapi.models.product_group_products_inner_commitment import ProductGroupProductsInnerCommitment
from openapi.models.product_group_products_inner_pricing import ProductGroupProductsInnerPricing
from openapi.models.product_group_products_inner_pricing_one_of4 import ProductGroupProductsInnerPricingOneOf4
from openapi.models.product_group_products_inner_scheduling import ProductGroupProductsInnerScheduling
from openapi.models.product_group_products_inner_scheduling_duration import (
    ProductGroupProductsInnerSchedulingDuration,
)
from openapi.models.send_events_request import SendEventsRequest
from openapi.models.submit_cloud_usage_request import SubmitCloudUsageRequest
from openapi.models.update_catalog_product_request import UpdateCatalogProductRequest
from openapi.models.update_custom_field_request import UpdateCustomFieldRequest
from openapi.models.update_customer_request import UpdateCustomerRequest
from openapi.models.update_meter_request import UpdateMeterRequest
from openapi.models.v2_delete_events_by_refs_request import V2DeleteEventsByRefsRequest
from openapi.models.v2_events_dry_run_request import V2EventsDryRunRequest
from openapi.models.v2_send_events_request import V2SendEventsRequest
from openapi.models.webhook_subscribe_request import WebhookSubscribeRequest
from vayu_sdk import Vayu
from vayu_sdk.clients.vayu_client import VayuClient

from tests.conftest import Account
from tests.contract.test_usage_over_time_vayu import aggregation_request, cloud_result
from tests.support import LiveServer

EXPECTED_OPERATIONS = 109
# Operations not drivable on this branch yet; the lead empties this list at merge.
PENDING_MERGE: frozenset[str] = frozenset()
HOOK = "http://127.0.0.1:9/hook"  # subscriptions are only stored here (no worker runs)
R = TypeVar("R")


def _public(cls: type) -> list[str]:
    return [m for m, _ in inspect.getmembers(cls, inspect.isfunction) if not m.startswith("_")]


def client_operations() -> set[str]:
    """`openapi.<Api>.<method>`, `vayu_sdk.<API>.<method>` and `vayu_sdk.Vayu.<method>`."""
    ops = set()
    for name, cls in inspect.getmembers(openapi.api, inspect.isclass):
        for m in _public(cls):
            if not m.endswith(("_with_http_info", "_without_preload_content")):
                ops.add(f"openapi.{name}.{m}")
    for name, cls in inspect.getmembers(vayu_sdk.apis, inspect.isclass):
        if cls.__module__.startswith("vayu_sdk.apis."):
            ops.update(f"vayu_sdk.{name}.{m}" for m in _public(cls))
    ops.update(f"vayu_sdk.Vayu.{m}" for m in _public(Vayu))
    return ops


class Recorder:
    """Runs a client call and records which operation it was, named from the bound method."""

    def __init__(self) -> None:
        self.called: set[str] = set()

    def __call__(self, method: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        owner = type(method.__self__)  # type: ignore[attr-defined]
        root = "openapi" if owner.__module__.startswith("openapi.") else "vayu_sdk"
        self.called.add(f"{root}.{owner.__name__}.{method.__name__}")
        return method(*args, **kwargs)


def _line(product_id: str) -> ProductGroupProductsInner:
    return ProductGroupProductsInner(
        display_name="Calls",
        catalog_product_id=product_id,
        scheduling=ProductGroupProductsInnerScheduling(
            billing_day=1, duration=ProductGroupProductsInnerSchedulingDuration(unit="MONTH", value=0)
        ),
        pricing=ProductGroupProductsInnerPricing(ProductGroupProductsInnerPricingOneOf4(type="PER_UNIT", price=0.5)),
        commitment=ProductGroupProductsInnerCommitment(units=10, overageStrategy=ExternalOverageStrategy.BLOCK),
    )


def _extension_post(server: LiveServer, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /meters and POST /plans are Meterline's extensions: the client has no call for them."""
    token = httpx.post(f"{server.url}/login", json={"refreshToken": key}).json()["accessToken"]
    resp = httpx.post(f"{server.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_the_client_has_109_operations() -> None:
    ops = client_operations()
    assert len(ops) == EXPECTED_OPERATIONS, sorted(ops)
    assert ops >= PENDING_MERGE


def test_every_operation_of_the_official_client(live_server: LiveServer, account: Account) -> None:
    call = Recorder()
    vayu = Vayu(api_key=account.api_key, host=live_server.url)
    low = VayuClient(account.api_key, live_server.url).client
    now = datetime.now(UTC).replace(microsecond=0)

    # auth
    call(vayu.login)
    assert call(AuthApi(low).login, LoginRequest(refreshToken=account.api_key)).access_token

    # customers and relations
    customers = CustomersApi(low)
    acme = call(vayu.customers.create, name="Acme", external_id="acme-1", aliases=["acme", "acme-eu"]).customer
    beta = call(
        customers.create_customer, CreateCustomerRequest(name="Beta", externalId="beta-1", aliases=["beta"])
    ).customer
    assert acme.aliases == ["acme", "acme-eu"] and beta.external_id == "beta-1"
    assert call(vayu.customers.get, acme.id).customer.name == "Acme"
    assert call(customers.get_customer, beta.id).customer.id == beta.id
    assert call(vayu.customers.getByExternalId, "acme-1").customer.id == acme.id
    assert call(customers.get_customer_by_external_id, "beta-1").customer.id == beta.id
    assert call(vayu.customers.get_by_name, "Acme").customer.id == acme.id
    assert call(customers.get_customer_by_name, "Beta").customer.id == beta.id
    assert call(vayu.customers.get_by_integration_id, IntegrationType.VAYU, acme.id).customer.id == acme.id
    with pytest.raises(NotFoundException):  # every type of the enum is valid; nothing holds this id
        call(customers.get_customer_by_integration_id, IntegrationType.SNOWFLAKE, "sf-1")
    assert [c.id for c in call(vayu.customers.list).customers] == [acme.id, beta.id]
    assert call(customers.list_customers, limit=1).has_more is True
    assert call(vayu.customers.update, acme.id, name="Acme Inc").customer.name == "Acme Inc"
    assert call(customers.update_customer, UpdateCustomerRequest(name="Beta Ltd"), beta.id).customer.name == "Beta Ltd"
    gamma = call(vayu.customers.create, name="Gamma", external_id="gamma-1").customer
    rel = call(vayu.customer_relations.create, acme.id, beta.id).customer_relation
    assert (rel.vayu_parent_customer_id, rel.vayu_child_customer_id) == (acme.id, beta.id)
    assert call(vayu.customer_relations.get, rel.id).customer_relation.id == rel.id
    rel2 = call(
        customers.create_customer_relation,
        CreateCustomerRelationRequest(vayuParentCustomerId=acme.id, vayuChildCustomerId=gamma.id),
    ).customer_relation
    assert call(customers.get_customer_relation, rel2.id).customer_relation.vayu_child_customer_id == gamma.id

    # custom fields (no wrapper)
    fields = CustomFieldsApi(low)
    field = call(
        fields.create_custom_field,
        CreateCustomFieldRequest(vayuEntity="Customer", vayuCustomFieldName="tier", valueType="String"),
    ).custom_field
    assert call(fields.get_custom_field, field.id).custom_field.vayu_custom_field_name == "tier"
    assert [f.id for f in call(fields.list_custom_fields).custom_fields] == [field.id]
    renamed = call(fields.update_custom_field, UpdateCustomFieldRequest(vayuCustomFieldName="level"), field.id)
    assert renamed.custom_field.vayu_custom_field_name == "level"
    assert call(fields.delete_custom_field, field.id).custom_field.deleted_at

    # meters (created through our extension), catalog products
    meters = MetersApi(low)
    count = {"name": "Calls", "eventName": "api_call", "aggregationMethod": {"operator": "Count"}}
    meter_id = _extension_post(live_server, account.api_key, "/meters", count)["meter"]["id"]
    spare = {"name": "Spare", "eventName": "spare", "aggregationMethod": {"operator": "Sum", "field": "n"}}
    spare_id = _extension_post(live_server, account.api_key, "/meters", spare)["meter"]["id"]
    assert call(vayu.meters.get, meter_id).meter.aggregation_method.operator == AggregationOperator.COUNT
    assert call(meters.get_meter, spare_id).meter.event_name == "spare"
    assert call(vayu.meters.list).total == 2 and call(meters.list_meters, limit=1).has_more is True
    assert call(vayu.meters.update, spare_id, name="Spare 2").meter.name == "Spare 2"
    update = UpdateMeterRequest(aggregationMethod=AggregationMethod(operator=AggregationOperator.MAX, field="n"))
    assert call(meters.update_meter, update, spare_id).meter.aggregation_method.operator == AggregationOperator.MAX
    products = CatalogProductsApi(low)
    request = CreateCatalogProductRequest(name="Calls")
    request.additional_properties["meterId"] = meter_id
    product = call(vayu.catalog_products.create, request).catalog_product
    extra = call(products.create_catalog_product, CreateCatalogProductRequest(name="Extra")).catalog_product
    assert call(vayu.catalog_products.get, product.id).catalog_product.additional_properties["meterId"] == meter_id
    assert call(products.get_catalog_product, extra.id).catalog_product.name == "Extra"
    assert call(vayu.catalog_products.list).total == 2 and call(products.list_catalog_products, limit=1).has_more
    renamed_p = call(vayu.catalog_products.update, extra.id, UpdateCatalogProductRequest(name="Extra 2"))
    assert renamed_p.catalog_product.name == "Extra 2"
    desc = UpdateCatalogProductRequest(description="more")
    assert call(products.update_catalog_product, desc, extra.id).catalog_product.description == "more"

    # plans (created through our extension)
    plans = PlansApi(low)
    plan_body = {"name": "Pro", "billingData": {"billingInterval": "Monthly", "duration": 12, "autoRenewal": True}}
    plan_id = _extension_post(live_server, account.api_key, "/plans", plan_body)["plan"]["id"]
    assert call(plans.get_plan, plan_id).plan.name == "Pro"
    assert [p.id for p in call(plans.list_plans).plans] == [plan_id]
    assert call(plans.delete_plan, plan_id).plan.deleted_at

    # contracts: one in force since two hours ago (consumption, invoices), one to delete
    contracts = ContractsApi(low)
    start = now - timedelta(hours=2)
    contract = call(
        vayu.contracts.create, name="Deal", customer_id=acme.id, start_date=start, products=[_line(product.id)]
    ).contract
    assert contract.status.value == "Active" and contract.start_date == start
    other = call(
        contracts.create_contract,
        CreateContractRequest(
            name="Side deal", customerId=beta.id, startDate=start, salesForceOpportunityId="006XYZ", status="Terminated"
        ),
    ).contract
    assert other.status.value == "Terminated"
    assert call(vayu.contracts.get, contract.id).contract.products[0].catalog_product_id == product.id
    assert call(contracts.get_contract, other.id).contract.name == "Side deal"
    assert call(vayu.contracts.list).total == 2
    assert [c.id for c in call(contracts.list_contracts, customer_id=beta.id).contracts] == [other.id]
    found = call(vayu.contracts.get_by_integration_id, IntegrationType.VAYU, contract.id).contract
    assert found.id == contract.id
    by_sf = call(contracts.get_contract_by_integration_id, IntegrationType.SALESFORCE, "006XYZ").contract
    assert by_sf.id == other.id

    # events v1 through the wrapper and the generated API
    events = EventsApi(low)
    ts = now - timedelta(hours=1)
    batch = [Event(name="api_call", timestamp=ts, customer_alias="acme", ref=f"e{i}", data={"n": i}) for i in range(4)]
    assert len(call(vayu.events.send, batch[:2]).valid_events) == 2
    assert len(call(events.send_events, SendEventsRequest(events=batch[2:])).valid_events) == 2
    probe = Event(name="api_call", timestamp=ts, customer_alias="acme", ref="probe", data={})
    assert call(vayu.events.dry_run, [probe]).events[0].meter_with_values[0].value == 1
    assert call(events.send_events_dry_run, EventsDryRunRequest(events=[probe])).events[0].matched_customer
    assert call(vayu.events.get, "e1").event.data == {"n": 1}
    assert call(events.get_event_by_ref_id, "e2").event.customer_alias == "acme"
    window = {"start_time": now - timedelta(days=1), "end_time": now}
    assert call(vayu.events.query, event_name="api_call", **window).total == 4
    assert call(events.query_events, customer_alias="acme", **window).total == 4

    # consumption: four calls against 10 units, each entry with its window
    [entry] = call(vayu.customers.get_products_consumptions, acme.id).products_consumptions
    assert (entry.product_id, entry.consumed_amount, entry.provisioned_amount) == (product.id, 4, 10)
    assert entry.additional_properties["windowStart"].startswith(start.strftime("%Y-%m-%dT%H:%M:%S"))
    by_alias = call(vayu.customers.get_products_consumptions_by_alias, "acme-eu").products_consumptions
    assert [e.consumed_amount for e in by_alias] == [4]
    assert call(customers.get_customer_products_consumptions, acme.id).products_consumptions[0].has_access
    assert (
        call(customers.get_customer_products_consumptions_by_alias, "acme").products_consumptions[0].usage_percentage
        == 40
    )
    assert call(vayu.product_consumptions.get, product.id).product_consumption.consumed_amount == 4
    total = call(ProductConsumptionsApi(low).get_product_consumption, product.id).product_consumption
    assert total.remaining_amount == 6

    # events: deletes, and v2
    assert call(vayu.events.delete, "e0").event.deleted_at
    assert call(events.delete_event_by_ref_id, "e1").event.ref == "e1"
    assert [e.ref for e in call(vayu.events.delete_by_refs, ["e2"]).events] == ["e2"]
    assert [e.ref for e in call(events.delete_events_by_refs, DeleteEventsByRefsRequest(refs=["e3"])).events] == ["e3"]
    v2 = [Event(name="api_call", timestamp=ts, customer_alias="acme", ref=f"v{i}", data={}) for i in range(3)]
    assert len(call(events.v2_send_events, V2SendEventsRequest(events=v2)).valid_events) == 3
    assert len(call(events.v2_send_events_dry_run, V2EventsDryRunRequest(events=[probe])).events) == 1
    assert call(events.v2_get_event_by_ref_id, "v0").event.ref == "v0"
    assert call(events.v2_query_events, event_name="api_call", **window).total == 3
    assert call(events.v2_delete_event_by_ref_id, "v0").event.deleted_at
    assert len(call(events.v2_delete_events_by_refs, V2DeleteEventsByRefsRequest(refs=["v1"])).events) == 1
    series = call(events.v2_query_events_aggregation, aggregation_request("acme", "year"))
    assert series.group_by == "year" and series.data_points == []  # its period holds none of these events

    # credits
    credits = CreditsApi(low)
    assert call(vayu.credits.grant, GrantCreditsRequest(creditAmount=10, customerId=acme.id)) is None
    assert call(credits.grant_credits, GrantCreditsRequest(creditAmount=2.5, customerId=acme.id)) is None
    assert call(vayu.credits.deduct, DeductCreditsRequest(creditAmount=1, customerId=acme.id)) is None
    assert call(credits.deduct_credits, DeductCreditsRequest(creditAmount=0.5, customerId=acme.id)) is None
    ledger = call(vayu.credits.list_ledger_entries, acme.id).entries
    assert [e.balance_after_entry for e in ledger] == [10, 12.5, 11.5, 11]
    assert [e.amount for e in call(credits.list_credit_ledger_entries, acme.id, limit=1).entries] == [10]

    # measurements
    measurements = MeasurementsApi(low)
    day = CreateMeasurementRequestUsageDate(year=2026, month=2, day=28)
    m1 = call(
        vayu.measurements.create,
        CreateMeasurementRequest(customerId=acme.id, meterId=meter_id, usageDate=day, value=3.5),
    ).measurement
    day2 = CreateMeasurementRequestUsageDate(year=2026, month=3, day=1)
    m2 = call(
        measurements.create_measurement,
        CreateMeasurementRequest(customerId=acme.id, meterId=meter_id, usageDate=day2, value=1),
    ).measurement
    assert call(vayu.measurements.get, m1.id).measurement.value == 3.5
    assert call(measurements.get_measurement, m2.id).measurement.usage_date.day == 1
    assert call(vayu.measurements.list).total == 2 and call(measurements.list_measurements, limit=1).has_more
    assert call(vayu.measurements.delete, m1.id).measurement.deleted_at
    assert call(measurements.delete_measurement, m2.id).measurement.deleted_at

    # invoices: the open cycle's draft of the contract in force
    invoices = InvoicesApi(low)
    listed = call(vayu.invoices.list)
    mine = [i for i in listed.invoices if i.customer_id == acme.id]
    assert mine, listed
    assert call(invoices.list_invoices, customer_id=acme.id).total == len(mine)
    invoice = call(vayu.invoices.get, mine[0].id).invoice
    assert call(invoices.get_invoice, invoice.id).invoice.id == invoice.id
    status = call(vayu.invoices.get_payment_status, invoice.id)
    assert status.invoice_id == invoice.id and status.amount_paid == 0
    assert call(invoices.get_invoice_payment_status, invoice.id).total == status.total

    # webhooks: every subscribe call (only stored: no worker runs here)
    assert call(vayu.webhooks.subscribe, HOOK, NotificationEventType.OVERAGE) is None
    assert call(vayu.webhooks.subscribe_to_commitment_usage_crossed, HOOK, 0.8) is None
    assert call(vayu.webhooks.subscribe_to_currency_commitment_usage_crossed, HOOK, 0.5) is None
    hook = WebhookSubscribeRequest(callbackUrl=HOOK, eventType=NotificationEventType.INVOICEAPPROVED)
    assert call(WebhooksApi(low).webhook_subscribe, hook) is None

    # cloud usage results
    cloud = SubmitCloudUsageRequest(results=[cloud_result(7)], product_code="prod-1")
    assert call(vayu.cloud_usage_submission.submit, cloud) == {}
    assert call(CloudUsageSubmissionApi(low).submit_cloud_usage, cloud) == {}

    # deletes last
    assert call(vayu.contracts.delete, contract.id).contract.deleted_at
    assert call(contracts.delete_contract, other.id).contract.id == other.id
    assert call(vayu.catalog_products.delete, product.id).catalog_product.deleted_at
    assert call(products.delete_catalog_product, extra.id).catalog_product.id == extra.id
    assert call(vayu.meters.delete, meter_id).meter.deleted_at
    assert call(meters.delete_meter, spare_id).meter.id == spare_id
    assert call(vayu.customers.delete, gamma.id).customer.deleted_at
    assert call(customers.delete_customer, beta.id).customer.id == beta.id
    with pytest.raises(NotFoundException):
        vayu.customers.get(beta.id)

    ops = client_operations()
    assert call.called <= ops, sorted(call.called - ops)
    assert not (call.called & PENDING_MERGE), "called but still listed as pending: empty PENDING_MERGE"
    assert sorted(ops - call.called - PENDING_MERGE) == []
    assert len(call.called) + len(PENDING_MERGE) == EXPECTED_OPERATIONS
