"""ui.charts.inline_meter: a stored meter as the aggregation endpoint's inline meter, or why
it has none (pure)."""

from meterline.aggregation.inline import same_meter
from meterline.aggregation.schemas import InlineMeter
from meterline.ui.charts import inline_meter


def _criterion(field: str, operator: str, value: str) -> dict[str, object]:  # values are text (meters.schemas)
    return {"field": field, "operator": operator, "value": value}


def test_a_filtered_meter_becomes_the_inline_meter_its_rollups_answer_for() -> None:
    stored = {
        "eventName": "calls",
        "aggregationMethod": {"operator": "Sum", "field": "tokens"},
        "filter": {
            "conditions": [
                {"criterions": [_criterion("region", "In", "eu,us"), _criterion("tier", "LargerEqualTo", "0")]}
            ]
        },
    }
    inline = inline_meter("p1", stored)
    assert inline == {
        "key": "p1",
        "eventName": "calls",
        "aggregation": {"operator": "Sum", "field": "tokens"},
        "filters": [
            {"field": "region", "operator": "in", "value": ["eu", "us"]},
            {"field": "tier", "operator": "gte", "value": "0"},
        ],
    }
    assert isinstance(inline, dict) and same_meter(InlineMeter.model_validate(inline), "meters[0]", stored)


def test_a_count_meter_takes_no_field() -> None:
    stored = {"eventName": "calls", "aggregationMethod": {"operator": "Count", "field": "x"}}
    assert inline_meter("p", stored) == {"key": "p", "eventName": "calls", "aggregation": {"operator": "Count"}}


def test_meters_the_endpoint_cannot_express_say_why() -> None:
    per_instance = {"eventName": "e", "aggregationMethod": {"operator": "Sum", "field": "v", "instanceKey": "id"}}
    assert "instanceKey" in str(inline_meter("p", per_instance))
    two = {"criterions": [_criterion("a", "Equals", "1")]}
    either = {"eventName": "e", "aggregationMethod": {"operator": "Count"}, "filter": {"conditions": [two, two]}}
    assert "several conditions" in str(inline_meter("p", either))
