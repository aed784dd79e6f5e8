"""Dashboard pages: customers (search, paginated) and one customer's page.

A customer's page shows what the API answers: its products in force
(consumption.service.for_customer, as GET /customers/products-consumptions/{id}), usage
by day per product (aggregation.service.query, as POST /v2/events/aggregation: ui.charts),
its contracts (contracts.service.list_page) with each line's current window
(contracts.service.lines_in_force), its invoices (invoices.service.list_page) and its
credit ledger (credits.service).
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response

from meterline.catalog import service as catalog
from meterline.consumption import service as consumption
from meterline.contracts import service as contracts
from meterline.credits import service as credits
from meterline.customers import service as customers
from meterline.db.engine import Database, transaction
from meterline.db.session import Conn, get_db
from meterline.invoices import service as invoices
from meterline.invoices.job import grace_of
from meterline.kit.errors import InvalidParameter
from meterline.kit.pagination import Page, PageRequest
from meterline.kit.times import now_us
from meterline.meters import service as meters
from meterline.ui import charts
from meterline.ui.paging import page_of
from meterline.ui.render import UiRoute, page
from meterline.ui.session import Session

router = APIRouter(route_class=UiRoute)

CUSTOMERS_PER_PAGE = 25

_ALL = PageRequest(limit=100, after_seq=0)
_INVOICES = PageRequest(limit=24, after_seq=0)  # two years of monthly invoices; the rest: /ui/invoices
# The customer page's parallel reads (its chart's queries, its invoices): each holds a
# connection of the pool for its duration.
_POOL = ThreadPoolExecutor(max_workers=6, thread_name_prefix="ui-reads")
T = TypeVar("T")


@router.get("/customers")
def customer_list(
    request: Request,
    session: Session,
    conn: Conn,
    q: Annotated[str, Query(max_length=200)] = "",
    cursor: str | None = None,
) -> Response:
    result = customers.search_page(
        conn, account_id=session.account_id, q=q, page=page_of(cursor, default=CUSTOMERS_PER_PAGE)
    )
    return page(request, "customers.html", session=session, result=result.body("customers"), q=q)


def _lines(contract: dict[str, Any], windows: dict[tuple[str, str], tuple[int, int]]) -> list[dict[str, Any]]:
    """A contract's product lines, flat, with the usage window in force now (None: none)."""
    out = []
    flat = [(f"products[{i}]", line) for i, line in enumerate(contract.get("products") or [])]
    for g, group in enumerate(contract.get("productGroups") or []):
        flat += [(f"productGroups[{g}].products[{i}]", line) for i, line in enumerate(group.get("products") or [])]
    for path, line in flat:
        out.append({"path": path, "line": line, "window": windows.get((contract["id"], path))})
    return out


def _chart_meters(
    conn: sa.Connection, account_id: str, entries: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The inline meter of each product in force, and the products that get no chart (why)."""
    inline, skipped = [], []
    for entry in entries:
        product = catalog.get(conn, account_id=account_id, product_id=entry["productId"])
        meter = meters.get(conn, account_id=account_id, meter_id=product["meterId"])
        found = charts.inline_meter(entry["productId"], meter)
        if isinstance(found, str):
            skipped.append({"productName": entry["productName"], "why": found})
        else:
            inline.append(found)
    return inline, skipped


def _read(db: Database, work: Callable[[sa.Connection], T]) -> T:
    with transaction(db, write=False) as conn:
        return work(conn)


@router.get("/customers/{customer_id}")
def customer_page(
    request: Request,
    customer_id: str,
    session: Session,
    db: Annotated[Database, Depends(get_db)],
    days: int = 30,
) -> Response:
    """The sections are independent reads: the chart's aggregation queries (one per product)
    and the invoices run on _POOL while this thread reads the rest, so the page costs about
    its slowest part rather than their sum (each part is what its API endpoint answers)."""
    if days not in charts.DAYS:
        raise InvalidParameter("days must be 30 or 90", param="days")
    account_id, customer_id, now = session.account_id, customer_id.lower(), now_us()
    with transaction(db, write=False) as conn:
        customer = customers.get(conn, account_id=account_id, customer_id=customer_id)
        entries = consumption.for_customer(conn, account_id=account_id, customer_id=customer_id, at_us=now)
        inline, no_chart = _chart_meters(conn, account_id, entries)
    body = charts.request_body(customer_id, inline, now, days)
    answers = {
        m["key"]: _POOL.submit(
            _read, db, partial(charts.query, account_id=account_id, body=charts.one_meter(body, m["key"]))
        )
        for m in inline
    }
    grace = grace_of(request.app.state.settings)

    def _invoices() -> Page:
        # Listing invoices may issue ended cycles: a write transaction, as GET /invoices runs.
        with transaction(db) as conn:
            return invoices.list_page(
                conn,
                account_id=account_id,
                page=_INVOICES,
                now=now,
                customer_id=customer_id,
                grace_us=grace,
                unbilled=False,  # not shown in the list
            )

    bills = _POOL.submit(_invoices)
    with transaction(db, write=False) as conn:
        lines = contracts.lines_in_force(conn, account_id=account_id, customer_id=customer_id, at_us=now)
        windows = {(x.contract_id, x.line_path): (x.window_start_us, x.window_end_us) for x in lines}
        deals = contracts.list_page(conn, account_id=account_id, customer_id=customer_id, page=_ALL)
        ledger = credits.list_page(conn, account_id=account_id, customer_id=customer_id, page=_ALL)
        balance = credits.balance(conn, account_id=account_id, customer_id=customer_id)
    by_key = {e["productId"]: e for e in entries}
    products = [
        {"key": k, "name": by_key[k]["productName"], "provisioned": by_key[k]["provisionedAmount"]} for k in answers
    ]
    chart = charts.view(body, {k: f.result() for k, f in answers.items()}, products)
    return page(
        request,
        "customer.html",
        session=session,
        customer=customer,
        entries=entries,
        contracts=[{"contract": c, "lines": _lines(c, windows)} for c in deals.items],
        contracts_more=deals.next_seq is not None,
        invoices=bills.result().body("invoices"),
        ledger=ledger.body("entries"),
        balance=balance,
        chart=chart,
        chart_json=charts.json_script(chart),
        no_chart=no_chart,
        days=days,
    )
