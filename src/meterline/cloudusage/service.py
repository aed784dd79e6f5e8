"""Cloud usage results: validated, stored one record per result, listed back.

Meterline talks to no cloud marketplace (docs/semantics.md "Cloud usage submissions"): a
submission records what a marketplace answered about usage the client reported there;
nothing is forwarded, metered or billed from it.
"""

from typing import Any

import sqlalchemy as sa

from meterline.cloudusage import repository as repo
from meterline.cloudusage.schemas import SubmitCloudUsageRequest
from meterline.kit.errors import BadRequest
from meterline.kit.ids import new_id
from meterline.kit.pagination import Page, PageRequest, make_page
from meterline.kit.times import iso_us, now_us, parse_instant, to_us


def _us(text: str, param: str) -> int:
    return to_us(parse_instant(text, param=param))


def submit(conn: sa.Connection, *, account_id: str, data: SubmitCloudUsageRequest) -> dict[str, Any]:
    """Store each result once per idempotencyKey (a key seen before, in this request or an
    earlier one, keeps its first record). Answers Vayu's SubmitCloudUsageResponse: `{}`.

    400 when a usage window ends before it starts or more is accepted than submitted."""
    now, rows, seen = now_us(), [], set()
    for i, result in enumerate(data.results):
        where = f"results[{i}]"
        start = _us(result.usageWindow.start, f"{where}.usageWindow.start")
        end = _us(result.usageWindow.end, f"{where}.usageWindow.end")
        if end < start:
            raise BadRequest("usageWindow.end must not be before usageWindow.start.", param=f"{where}.usageWindow.end")
        if result.acceptedQuantity > result.quantitySubmitted:
            raise BadRequest("acceptedQuantity cannot exceed quantitySubmitted.", param=f"{where}.acceptedQuantity")
        if result.idempotencyKey in seen:
            continue
        seen.add(result.idempotencyKey)
        rows.append(
            {
                "id": new_id(),
                "account_id": account_id,
                "idempotency_key": result.idempotencyKey,
                "product_code": data.productCode,
                "status": result.status,
                "meter_dimension": result.meterDimension,
                "aws_customer_identifier": result.awsCustomerIdentifier,
                "window_start_us": start,
                "window_end_us": end,
                "submitted_at_us": _us(result.timestampSubmitted, f"{where}.timestampSubmitted"),
                "quantity_submitted": result.quantitySubmitted,
                "accepted_quantity": result.acceptedQuantity,
                "doc": result.model_dump(mode="python", exclude_none=True),
                "created_at": now,
            }
        )
    repo.insert_new(conn, rows)
    return {}


def to_wire(row: dict[str, Any]) -> dict[str, Any]:
    """The result as submitted, plus `id`, `productCode` and `createdAt`."""
    return {"id": row["id"], "productCode": row["product_code"], **row["doc"], "createdAt": iso_us(row["created_at"])}


def list_page(conn: sa.Connection, *, account_id: str, product_code: str | None, page: PageRequest) -> Page:
    rows = repo.page(conn, account_id, product_code=product_code, after_seq=page.after_seq, limit=page.limit)
    return make_page(
        [(r["seq"], to_wire(r)) for r in rows],
        limit=page.limit,
        total=repo.count(conn, account_id, product_code=product_code),
    )
