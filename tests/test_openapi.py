"""Our /openapi.json: Vayu's paths and operation ids, typed answers, the seed's error shapes,
Vayu's enums, resolvable references, and a document openapi-spec-validator accepts.

The vendor's reference is the official client (tests/vayu_reference.py), nothing outside
the repository.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from meterline.app import create_app
from meterline.config import Settings
from meterline.kit.openapi import ERROR_MODELS
from tests import vayu_reference as vayu

# Our own extensions: not in Vayu's API.
EXTENSIONS = {
    ("post", "/meters"),
    ("post", "/plans"),
    ("get", "/webhooks"),
    ("delete", "/webhooks/{webhookId}"),
    ("get", "/webhooks/public-key"),
    ("get", "/webhooks/{webhookId}"),
    ("get", "/webhooks/{webhookId}/deliveries"),
    ("post", "/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver"),
    ("post", "/webhooks/{webhookId}/test"),
    ("post", "/contracts/{contractId}/terminate"),
    ("get", "/cloudUsageSubmission"),
    ("post", "/invoices/{invoiceId}/payments"),
    ("get", "/invoices/{invoiceId}/payments"),
    ("get", "/ingestion-counts"),
}
# The client's calls this server does not answer yet (a 404 for an unknown route): none.
NOT_SERVED: set[tuple[str, str]] = set()
# Operations whose 200 answer is, in Vayu's own schema, an object without properties.
EMPTY_ANSWERS = {("post", "/cloudUsageSubmission")}
ERROR_SCHEMAS = {model.__name__ for model in ERROR_MODELS.values()}


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # The document does not depend on the backend: one SQLite file serves every test here.
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'doc.db'}"
    app = create_app(Settings(database_url=url, jwt_secret="d" * 40, background_jobs=False))
    with TestClient(app) as c:
        resp = c.get("/openapi.json")
    assert resp.status_code == 200
    return resp.json()  # type: ignore[no-any-return]


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method, path): op for path, item in doc["paths"].items() for method, op in item.items()}


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = doc["components"]["schemas"][name]
    return schema


def _schema_enums(doc: dict[str, Any], schema: dict[str, Any], prefix: str = "", depth: int = 0) -> dict[str, set[str]]:
    """Dotted property path -> the enum (or const) values our schema allows there."""
    schema = _resolve(doc, schema)
    out: dict[str, set[str]] = {}

    def add(found: dict[str, set[str]]) -> None:
        for k, v in found.items():
            out.setdefault(k, set()).update(v)

    if depth > 12:
        return out
    if prefix and ("enum" in schema or "const" in schema):
        add({prefix.rstrip("."): {str(v) for v in schema.get("enum", [schema.get("const")])}})
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        add(_schema_enums(doc, branch, prefix, depth + 1))
    if "items" in schema:
        add(_schema_enums(doc, schema["items"], prefix, depth + 1))
    for name, sub in schema.get("properties", {}).items():
        add(_schema_enums(doc, sub, f"{prefix}{name}.", depth + 1))
    return out


def _schema_fields(doc: dict[str, Any], schema: dict[str, Any], prefix: str = "", depth: int = 0) -> set[str]:
    schema = _resolve(doc, schema)
    out: set[str] = set()
    if depth > 12:
        return out
    if (
        not {"properties", "items", "anyOf", "oneOf", "allOf", "enum", "const"} & schema.keys()
        and schema.get("type", "object") == "object"
    ):
        out.add(prefix + "*")  # any value: what a client requires below is not ours to claim
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        out |= _schema_fields(doc, branch, prefix, depth + 1)
    if "items" in schema:
        out |= _schema_fields(doc, schema["items"], prefix, depth + 1)
    for name, sub in schema.get("properties", {}).items():
        out.add(prefix + name)
        out |= _schema_fields(doc, sub, f"{prefix}{name}.", depth + 1)
    return out


def _json_schema(op: dict[str, Any], status: str) -> dict[str, Any]:
    return op["responses"][status]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


def test_paths_and_operation_ids_are_vayus(doc: dict[str, Any]) -> None:
    client = vayu.operations()
    ours = _operations(doc)
    assert len(client) >= 60
    for key, op in ours.items():
        if key in client:
            assert vayu.snake(op["operationId"]) == client[key].name, key
        else:
            assert key in EXTENSIONS, f"{key} is neither Vayu's nor a listed extension"
    assert set(client) - set(ours) <= NOT_SERVED


def test_every_answer_is_typed_and_no_operation_declares_422(doc: dict[str, Any]) -> None:
    """The guard for new routes: declare response_model (kit/openapi.py says how)."""
    for (method, path), op in _operations(doc).items():
        responses = op["responses"]
        assert "422" not in responses, (method, path)
        schema = _resolve(doc, _json_schema(op, "200"))
        assert schema.get("type") == "object", (method, path, schema)
        assert schema.get("properties") or (method, path) in EMPTY_ANSWERS, (method, path, schema)
        for status, answer in responses.items():
            if status != "200":
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref.removeprefix("#/components/schemas/") in ERROR_SCHEMAS, (method, path, status)
        assert "500" in responses, (method, path)
        if op.get("security"):
            assert {"401", "429"} <= responses.keys(), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_error_answers_are_the_seeds_shapes(doc: dict[str, Any]) -> None:
    client = vayu.operations()
    named = {name for op in client.values() for status, name in op.responses.items() if status != "200"}
    assert named <= ERROR_SCHEMAS  # the client names each error shape as we do
    for status, model in ERROR_MODELS.items():
        theirs = vayu.model(model.__name__)
        assert theirs is not None, model.__name__
        ours = doc["components"]["schemas"][model.__name__]
        assert set(ours["required"]) == {n for n, f in theirs.model_fields.items() if f.is_required()}, status
        assert set(theirs.model_fields) - {"additional_properties"} <= set(ours["properties"]), status
        for field, values in vayu.literal_enums(theirs).items():
            assert set(ours["properties"][field]["enum"]) == values, (status, field)
    for key, op in _operations(doc).items():
        if key in client:
            for status, name in client[key].responses.items():
                if status in op["responses"] and status != "200":
                    assert _json_schema(op, status)["$ref"].endswith("/" + name), (key, status)


def test_enums_and_required_fields_are_vayus(doc: dict[str, Any]) -> None:
    compared: set[str] = set()
    for key, op in _operations(doc).items():
        theirs = vayu.operations().get(key)
        if theirs is None:
            continue
        pairs = []
        if theirs.body is not None and "requestBody" in op:
            pairs.append((theirs.body, op["requestBody"]["content"]["application/json"]["schema"]))
        answer = vayu.model(theirs.responses.get("200", ""))
        if answer is not None:
            pairs.append((answer, _json_schema(op, "200")))
            fields = _schema_fields(doc, _json_schema(op, "200"))
            missing = {
                f
                for f in vayu.required_fields(answer) - fields
                if not any(f.startswith(open_[:-1]) for open_ in fields if open_.endswith("*"))
            }
            assert not missing, (key, "answer lacks the client's required fields", missing)
        for param in op.get("parameters", []):
            values = theirs.param_enums.get(vayu.snake(param["name"]))
            if values is not None:
                assert set(_schema_enums(doc, {"properties": {"p": param["schema"]}})["p"]) == values, (key, param)
                compared.add(param["name"])
        for model, schema in pairs:
            ours = _schema_enums(doc, schema)
            for path, values in vayu.enums(model).items():
                if path in ours:
                    assert ours[path] == values, (key, path, ours[path] ^ values)
                    compared.add(path.rsplit(".", 1)[-1])
    assert {"operator", "overageStrategy", "status", "paymentTerm", "valueType", "integrationType"} <= compared


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert "#/components/schemas/SendEventsRequest" in refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in doc["components"]["schemas"], ref


def test_openapi_spec_validator_accepts_the_document(doc: dict[str, Any]) -> None:
    validate(doc)  # raises on an invalid document


def test_openapi_declares_bearer_auth(doc: dict[str, Any]) -> None:
    assert doc["info"]["title"] == "Vayu API"
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
