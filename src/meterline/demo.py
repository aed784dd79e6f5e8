"""`meterline demo`: a `demo` account with a realistic set-up and `days` days of events,
built in-process through the services (the same rules as the API), for a newcomer to see
numbers at once.

What it creates: four meters (Count, Sum, Distinct, Max), a catalog product per meter, a
monthly plan committing to API calls and tokens, `customers` customers each on a contract
from the plan starting `days` days ago, and ~700 events a day (ingested in 1000-event
batches). Deterministic (seeded). Running it again finds the account by name and creates
nothing but a fresh API key.
"""

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from meterline.auth import repository as auth_repo
from meterline.auth import service as auth_service
from meterline.catalog import service as catalog_service
from meterline.catalog.schemas import CatalogProductCreate
from meterline.contracts import service as contracts_service
from meterline.contracts.schemas import ContractCreate
from meterline.customers import service as customers_service
from meterline.customers.schemas import CustomerCreate
from meterline.db.engine import Database, transaction
from meterline.events import service as events_service
from meterline.kit.pagination import PageRequest
from meterline.meters import service as meters_service
from meterline.meters.schemas import MeterCreate
from meterline.plans import service as plans_service
from meterline.plans.schemas import PlanCreate

ACCOUNT_NAME = "demo"
EVENTS_PER_DAY = 700
BATCH = 1000

METERS = [
    {"name": "API calls", "eventName": "api_call", "aggregationMethod": {"operator": "Count"}},
    {"name": "LLM tokens", "eventName": "llm_call", "aggregationMethod": {"operator": "Sum", "field": "tokens"}},
    {"name": "Active users", "eventName": "api_call", "aggregationMethod": {"operator": "Distinct", "field": "user"}},
    {"name": "Storage peak (GB)", "eventName": "storage", "aggregationMethod": {"operator": "Max", "field": "gb"}},
]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne"]


@dataclass(frozen=True)
class Demo:
    account_id: str
    api_key: str
    customer_id: str
    alias: str
    created: bool  # False: the account already existed (only a new key was made)
    events: int


def _existing(db: Database) -> str | None:
    with transaction(db, write=False) as conn:
        return next((r["id"] for r in auth_repo.list_accounts(conn) if r["name"] == ACCOUNT_NAME), None)


def _first_customer(db: Database, account_id: str) -> tuple[str, str]:
    with transaction(db, write=False) as conn:
        page = customers_service.list_page(conn, account_id=account_id, page=PageRequest(limit=1, after_seq=0))
    first = page.items[0]
    return str(first["id"]), str(first["aliases"][0])


def _line(product_id: str, name: str, units: int, price: str, unit_price: str) -> dict[str, Any]:
    return {
        "catalogProductId": product_id,
        "displayName": name,
        "scheduling": {"billingDay": 1, "duration": {"unit": "MONTH", "value": 0}},
        "pricing": {"type": "PER_UNIT", "price": Decimal(unit_price)},
        "commitment": {"units": units, "price": Decimal(price), "overageStrategy": "TOP_UP"},
    }


def _set_up(db: Database, account_id: str, customers: int, start: datetime) -> list[str]:
    """Meters, products, the plan, customers and their contracts; returns the aliases."""
    with transaction(db) as conn:
        products = []
        for body in METERS:
            meter = meters_service.create(conn, account_id=account_id, data=MeterCreate.model_validate(body))
            product = catalog_service.create(
                conn,
                account_id=account_id,
                data=CatalogProductCreate.model_validate({"name": body["name"], "meterId": meter["id"]}),
            )
            products.append(product["id"])
        plan = plans_service.create(
            conn,
            account_id=account_id,
            data=PlanCreate.model_validate(
                {
                    "name": "Growth",
                    "billingData": {"billingInterval": "Monthly", "duration": -1, "autoRenewal": False},
                    "products": [
                        _line(products[0], "API calls", 10_000, "99", "0.002"),
                        _line(products[1], "LLM tokens", 2_000_000, "49", "0.00002"),
                    ],
                }
            ),
        )
        aliases = []
        for i in range(customers):
            name = COMPANIES[i % len(COMPANIES)] + ("" if i < len(COMPANIES) else f" {i // len(COMPANIES) + 1}")
            alias = name.lower().replace(" ", "-")
            customer = customers_service.create(
                conn,
                account_id=account_id,
                data=CustomerCreate.model_validate({"name": name, "externalId": f"demo-{alias}", "aliases": [alias]}),
            )
            contracts_service.create(
                conn,
                account_id=account_id,
                data=ContractCreate.model_validate(
                    {
                        "name": f"{name} Growth",
                        "customerId": customer["id"],
                        "planId": plan["id"],
                        "startDate": start.replace(day=1).strftime("%Y-%m-%dT%H:%M:%SZ"),  # whole months
                    }
                ),
            )
            aliases.append(alias)
    return aliases


def _events(aliases: list[str], start: datetime, days: int) -> Iterator[dict[str, Any]]:
    """~EVENTS_PER_DAY events a day, in time order; bigger customers first (weight 1/rank)."""
    rnd = random.Random(42)
    weights = [1 / (k + 1) for k in range(len(aliases))]
    n = 0
    for day in range(days):
        base = start + timedelta(days=day)
        for k in range(EVENTS_PER_DAY):
            at = base + timedelta(seconds=k * 86_400 // EVENTS_PER_DAY)
            alias = rnd.choices(aliases, weights=weights)[0]
            ts = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            n += 1
            if k % 100 == 0:
                yield {"name": "storage", "timestamp": ts, "customerAlias": alias, "ref": f"demo-{n}",
                       "data": {"gb": Decimal(rnd.randint(10, 500)) / 10}}
            elif k % 3 == 0:
                yield {"name": "llm_call", "timestamp": ts, "customerAlias": alias, "ref": f"demo-{n}",
                       "data": {"tokens": rnd.randint(200, 4000), "model": rnd.choice(["small", "large"])}}
            else:
                yield {"name": "api_call", "timestamp": ts, "customerAlias": alias, "ref": f"demo-{n}",
                       "data": {"user": f"user-{rnd.randint(1, 40)}", "path": rnd.choice(["/search", "/items"])}}


def create(
    db: Database, *, days: int = 90, customers: int = 5, progress: Callable[[int, int], None] | None = None
) -> Demo:
    """The demo account (created, or found with a fresh key). `progress(done, total)` is
    called after each ingested batch."""
    existing = _existing(db)
    if existing is not None:
        with transaction(db) as conn:
            key = auth_service.create_key(conn, account_id=existing)
        customer_id, alias = _first_customer(db, existing)
        return Demo(existing, key.api_key, customer_id, alias, created=False, events=0)
    with transaction(db) as conn:
        account = auth_service.create_account(conn, name=ACCOUNT_NAME)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=days)
    aliases = _set_up(db, account.account_id, customers, start)
    total, batch, done = days * EVENTS_PER_DAY, [], 0
    for event in _events(aliases, start, days):
        batch.append(event)
        if len(batch) == BATCH:
            done += _ingest(db, account.account_id, batch)
            batch = []
            if progress:
                progress(done, total)
    if batch:
        done += _ingest(db, account.account_id, batch)
    if progress:
        progress(done, total)
    customer_id, alias = _first_customer(db, account.account_id)
    return Demo(account.account_id, account.api_key, customer_id, alias, created=True, events=done)


def _ingest(db: Database, account_id: str, batch: list[dict[str, Any]]) -> int:
    answer = db.write_grouped(lambda conn: events_service.ingest(conn, account_id=account_id, events=batch))
    return len(answer["validEvents"])


def commands(demo: Demo, url: str = "http://127.0.0.1:8000") -> list[str]:
    """Three commands to try against `meterline serve` (the token from the first)."""
    login = f"{{\"refreshToken\": \"{demo.api_key}\"}}"
    read_token = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"accessToken\"])'"  # noqa: S105
    auth = '-H "Authorization: Bearer $TOKEN"'
    return [
        f"TOKEN=$(curl -s -X POST {url}/login -H 'content-type: application/json' -d '{login}' | {read_token})",
        f"curl -s {url}/customers/products-consumptions/{demo.customer_id} {auth}",
        f"curl -s '{url}/invoices?customerId={demo.customer_id}' {auth}",
    ]

