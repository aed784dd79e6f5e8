"""Schemathesis against our own OpenAPI document: every answer conforms to it.

Every operation the app serves is fuzzed with a valid token (so the generated bodies and
parameters reach the handlers), in the positive and negative generation modes, and each
answer goes through schemathesis' checks: no 5xx (`not_a_server_error`), a status the
operation declares (`status_code_conformance`), a declared content type
(`content_type_conformance`), and a body matching the declared schema
(`response_schema_conformance`). The 200 answers of every operation with real data are
checked in tests/test_openapi_conformance.py.

Runs on SQLite and PostgreSQL (the `backend` fixture), bounded: a few examples per
operation and mode (EXAMPLES).
"""

import itertools

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Account, login

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Per operation and generation mode. Input handling does not depend on the backend: fewer
# examples on PostgreSQL (its storage behaviour is covered elsewhere) keep the file ~1 min.
EXAMPLES = {"sqlite": 6, "postgres": 3}


def test_every_answer_conforms_to_the_document(app: FastAPI, account: Account, backend: str) -> None:
    # Driven by hand rather than through schemathesis' pytest plugin, which does not
    # support pytest 9 yet. Each operation and generation mode gets its own hypothesis run.
    with TestClient(app) as c:
        token = login(c, account.api_key)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = sum(len(item) for item in app.openapi()["paths"].values())
    assert len(operations) == documented >= 60

    failures = []
    for operation, mode in itertools.product(operations, list(schemathesis.GenerationMode)):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES[backend], deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except (AssertionError, FailureGroup) as exc:  # every operation's findings in one report
            failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
