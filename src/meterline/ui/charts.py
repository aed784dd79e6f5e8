"""The usage chart of a customer's page: each product's meter asked of
`POST /v2/events/aggregation` (aggregation.service.query), by day. Pure but for that call.

A stored meter becomes the inline meter that selects and aggregates as it does (same
eventName, operator, field and criterions: aggregation.inline.same_meter), so the answer
comes from the meter's rollups. A meter the endpoint cannot express inline (an
instanceKey, or a filter of several conditions) gets no chart, with the reason.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup

from meterline.aggregation import service as aggregation
from meterline.aggregation.groups import group_start
from meterline.aggregation.inline import CRITERIA
from meterline.aggregation.schemas import AggregationRequest
from meterline.contracts.windows import DAY_US
from meterline.kit.jsonenc import decimal_text, dumps
from meterline.kit.times import iso_us

DAYS = (30, 90)
_OPERATORS = {v: k for k, v in CRITERIA.items()}


def inline_meter(key: str, meter: Mapping[str, Any]) -> dict[str, Any] | str:
    """The inline meter (request JSON) equal to a stored meter document, or why none is."""
    method = meter.get("aggregationMethod") or {}
    if method.get("instanceKey"):
        return "its meter counts per instance (instanceKey), which the aggregation endpoint has no inline form of"
    conditions = (meter.get("filter") or {}).get("conditions") or []
    if len(conditions) > 1:
        return "its meter's filter has several conditions (OR), which the aggregation endpoint has no inline form of"
    filters = []
    for c in conditions[0]["criterions"] if conditions else []:
        op = _OPERATORS.get(c["operator"])
        if op is None:
            return f"its meter's filter uses {c['operator']}, which the aggregation endpoint has no inline form of"
        raw = c.get("value")
        value = "" if raw is None else str(raw)
        filters.append({"field": c["field"], "operator": op, "value": value.split(",") if op == "in" else value})
    aggregation_doc = {"operator": method.get("operator")}
    if method.get("field") and method.get("operator") != "Count":
        aggregation_doc["field"] = method["field"]
    out: dict[str, Any] = {"key": key, "eventName": meter["eventName"], "aggregation": aggregation_doc}
    if filters:
        out["filters"] = filters
    return out


def period(now: int, days: int) -> tuple[str, str]:
    """[start of the UTC day `days - 1` days before now's, now): `days` daily groups."""
    return iso_us(group_start(now, "day") - (days - 1) * DAY_US), iso_us(now)


def request_body(customer_id: str, meters: Sequence[dict[str, Any]], now: int, days: int) -> dict[str, Any]:
    start, end = period(now, days)
    return {
        "customerId": customer_id,
        "period": {"startTime": start, "endTime": end},
        "meters": list(meters),
        "groupBy": "day",
        "fillDates": True,
    }


def one_meter(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The request for one of `body`'s meters (the same period and grouping)."""
    return {**body, "meters": [m for m in body["meters"] if m["key"] == key]}


def query(conn: sa.Connection, *, account_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /v2/events/aggregation's answer to `body` (aggregation.service.query)."""
    return aggregation.query(conn, account_id=account_id, body=AggregationRequest.model_validate(body))


def view(
    body: Mapping[str, Any], answers: Mapping[str, Mapping[str, Any]], products: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The chart's data as the page carries it: {"period", "request", "days": [label],
    "series": [{"key", "name", "provisioned", "values": [text per day]}]}; decimals as the
    API's text. answers: per meter key, the answer to one_meter(body, key) (with fillDates
    every answer has the same groups: the period's days); products: {"key", "name",
    "provisioned"} in the request's meter order."""
    first = next(iter(answers.values()), None)
    return {
        "period": first["period"] if first else body["period"],
        "request": body,
        "days": [p["group"] for p in first["dataPoints"]] if first else [],
        "series": [
            {
                "key": p["key"],
                "name": p["name"],
                "provisioned": decimal_text(p["provisioned"]),
                "values": [_text(point["values"][p["key"]]) for point in answers[p["key"]]["dataPoints"]],
            }
            for p in products
        ],
    }


def _text(value: Any) -> str:
    return decimal_text(value) if isinstance(value, Decimal) else str(value)


_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_script(obj: Any) -> Markup:
    """JSON text safe inside <script type="application/json"> (no `</script>` can close it)."""
    return Markup(dumps(obj).decode().translate(_SCRIPT_SAFE))  # noqa: S704 - <, >, & escaped above
