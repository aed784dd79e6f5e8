"""Every stderr line is one JSON object, and every line a request logs carries its request id
(in-process; the real server's stderr is checked in tests/test_ops_server.py)."""

import json

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.app import create_app
from meterline.config import Settings
from meterline.db.engine import Database
from meterline.kit.auth import CurrentAccount
from tests.conftest import Account, login


def _app(settings: Settings, db: Database) -> FastAPI:
    app = create_app(settings, db=db)  # configures logging onto the (captured) stderr

    @app.get("/__logs")
    def logs(account: CurrentAccount) -> dict[str, str]:  # sync: runs in a worker thread
        structlog.get_logger("test").info("inside", n=1)
        return {"ok": "yes"}

    return app


def test_lines_of_a_request_carry_its_id(
    settings: Settings, db: Database, account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(_app(settings, db)) as c:
        c.headers["Authorization"] = f"Bearer {login(c, account.api_key)}"
        capsys.readouterr()
        ours = c.get("/__logs", headers={"X-Request-Id": "trace.42_A-b"})
        fresh = c.get("/__logs", headers={"X-Request-Id": "a" * 65})
    assert ours.headers["x-request-id"] == "trace.42_A-b"
    assert len(fresh.headers["x-request-id"]) == 24 and fresh.headers["x-request-id"] != "a" * 65
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    inside = [line for line in lines if line["event"] == "inside"]
    access = [line for line in lines if line["logger"] == "meterline.access"]
    ids = [ours.headers["x-request-id"], fresh.headers["x-request-id"]]
    assert [line["request_id"] for line in inside] == ids and [line["request_id"] for line in access] == ids
    assert all(line["account_id"] == account.account_id for line in inside + access)
    assert access[0]["route"] == "/__logs" and access[0]["status"] == 200 and access[0]["method"] == "GET"


def test_sampling_zero_logs_no_access_line(
    settings: Settings, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = settings.model_copy(update={"access_log_sample": 0.0})
    with TestClient(create_app(quiet, db=db)) as c:
        capsys.readouterr()
        assert c.get("/healthz").status_code == 200
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert not any(line["logger"] == "meterline.access" for line in lines)
