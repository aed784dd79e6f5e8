"""Helpers for metering tests: meter documents and event batches."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from meterline.db.engine import Database, transaction
from meterline.events import service as events_service
from meterline.kit import jsonenc
from meterline.meters import service as meters_service
from meterline.meters.schemas import MeterCreate
from tests.conftest import make_account


def post_json(api: TestClient, path: str, body: Any) -> Response:
    """POST with exact decimals in the body (the stdlib json cannot write Decimal)."""
    return api.post(path, content=jsonenc.dumps(body), headers={"content-type": "application/json"})


def meter_body(operator: str = "Sum", event_name: str = "api_call", **agg: Any) -> dict[str, Any]:
    method: dict[str, Any] = {"operator": operator}
    if operator != "Count" and "field" not in agg:
        method["field"] = "value"
    method.update({k: v for k, v in agg.items() if k != "filter"})
    body: dict[str, Any] = {"name": f"{operator} meter", "eventName": event_name, "aggregationMethod": method}
    if "filter" in agg:
        body["filter"] = agg["filter"]
        method.pop("filter", None)
    return body


def create_meter(api: TestClient, **kwargs: Any) -> dict[str, Any]:
    resp = api.post("/meters", json=meter_body(**kwargs))
    assert resp.status_code == 200, resp.text
    return resp.json()["meter"]  # type: ignore[no-any-return]


def event(
    ref: str, *, ts: str = "2026-01-10T10:00:00Z", alias: str = "acme", name: str = "api_call", **data: Any
) -> dict[str, Any]:
    return {"name": name, "timestamp": ts, "customerAlias": alias, "ref": ref, "data": data}


def send(api: TestClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    resp = post_json(api, "/events", {"events": events})
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def stored_meter(
    db: Database, body: dict[str, Any], events: list[dict[str, Any]], *, fold: bool = True
) -> tuple[str, str]:
    """A new account with this meter and these events ingested (through the services, no
    HTTP) and, with `fold`, folded into its rollups: (account id, meter id)."""
    account_id = make_account(db).account_id
    with transaction(db) as conn:
        meter = meters_service.create(conn, account_id=account_id, data=MeterCreate.model_validate(body))
        events_service.ingest(conn, account_id=account_id, events=events)
    if fold:
        fold_backlog(db)
    return account_id, meter["id"]


def fold_backlog(db: Database) -> int:
    """Merge every stored event not yet in the rollups (as the background folder does);
    answers how many, and checks that none is left."""
    from meterline.usage import backlog

    folded = backlog.fold_all(db, chunk=5_000)
    assert backlog.waiting(db) == 0
    return folded


def run_rebuilds(db: Database, *, chunk: int = 10_000, steps: int | None = None) -> int:
    """Work the pending meter rebuilds as a background process would: all of them to their
    end (steps=None), or only `steps` transactions of work. Answers the steps run."""
    from meterline.meters import rebuilds

    config = rebuilds.RebuildConfig(chunk_events=chunk)
    ran = 0
    while steps is None or ran < steps:
        claimed = rebuilds.claim(db, config)
        if claimed is None:
            break
        while steps is None or ran < steps:
            job = rebuilds.step(db, *claimed, config)
            ran += 1
            if job["status"] not in ("pending", "running"):
                break
        else:
            release(db, claimed[0])
    if steps is None:
        while rebuilds.drain_drops(db, chunk=chunk):
            pass
    return ran


def release(db: Database, job_id: str) -> None:
    """End a job's lease (as if its holder had stopped and the lease run out)."""
    from meterline.meters import repository as meters_repo

    with transaction(db) as conn:
        meters_repo.update_rebuild(conn, job_id, lease_until=0)


@contextmanager
def backlog_everywhere(on: bool = True) -> Iterator[None]:
    """Ingestion leaves every batch's rollups to the folder on every backend (SQLite merges
    those of a batch with few buckets in the request otherwise,
    usage.backlog_repository.DEFERS): the folder's code is then tested on SQLite with any
    batch. `on=False`: no backend defers."""
    from meterline.usage import backlog_repository

    saved = backlog_repository.DEFERS, backlog_repository.ALWAYS
    both = frozenset({"postgresql", "sqlite"} if on else ())
    backlog_repository.DEFERS = backlog_repository.ALWAYS = both
    try:
        yield
    finally:
        backlog_repository.DEFERS, backlog_repository.ALWAYS = saved
