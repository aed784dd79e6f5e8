"""The threshold scan isolates a failure to its customer: the others are still notified,
and the failure is logged once (SQLite and PostgreSQL)."""

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from meterline.consumption import rules
from meterline.db.engine import Database, transaction
from meterline.webhooks import thresholds
from tests.conftest import Account
from tests.webhooks.test_thresholds import FEB_20, _calls, _setup, _subscribe


def _pending(db: Database, account: Account) -> list[thresholds.Crossing]:
    with transaction(db, write=False) as conn:
        return thresholds.pending(conn, account_id=account.account_id, at_us=FEB_20)


def test_one_customer_failing_does_not_stop_the_others(
    api: TestClient, db: Database, account: Account, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _setup(api)
    _subscribe(api, "https://receiver.example/hook", "Overage")
    _calls(api, "a", 10, "2026-02-10T00:00:00Z", "a")
    _calls(api, "b", 12, "2026-02-10T00:00:00Z", "b")
    real = rules.usage_percentage

    def failing(provisioned: Any, consumed: Any) -> Any:  # a rule failing for B only (12 calls; A has 10)
        if consumed == 12:
            raise ArithmeticError("simulated failure")
        return real(provisioned, consumed)

    monkeypatch.setattr(rules, "usage_percentage", failing)
    thresholds._FAILING.clear()
    caplog.set_level(logging.ERROR, logger="meterline.webhooks")
    first = _pending(db, account)
    second = _pending(db, account)
    # structlog hands the standard library its event dict (meterline.logs renders it as JSON)
    logs = [r.msg for r in caplog.records if isinstance(r.msg, dict) and "threshold_scan" in str(r.msg.get("event"))]
    assert [c.data["customerId"] for c in first] == [ids["a"]]
    assert [c.data["customerId"] for c in second] == [ids["a"]]
    errors = [e for e in logs if e["event"] == "threshold_scan_customer_error"]
    assert len(errors) == 1, logs
    assert errors[0]["customer_id"] == ids["b"] and errors[0]["account_id"] == account.account_id
    assert "simulated failure" in errors[0]["error"] and errors[0]["level"] == "error"
    with transaction(db) as conn:
        assert thresholds.scan(conn, account_id=account.account_id, at_us=FEB_20) == 1
    monkeypatch.undo()  # B recovers: notified at the next scan
    with transaction(db) as conn:
        assert thresholds.scan(conn, account_id=account.account_id, at_us=FEB_20) == 1
    assert (account.account_id, ids["b"]) not in thresholds._FAILING
