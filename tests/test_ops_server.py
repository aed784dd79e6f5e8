"""A real `meterline serve`: metrics summed over worker processes, and stderr as JSON lines
(uvicorn's own, the access log with request ids)."""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support import CLI, free_port, start_cli_server
from tests.test_ops import samples, value


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "METERLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
        "METERLINE_JWT_SECRET": "ops-test-secret-" + "x" * 32,
        "METERLINE_BACKGROUND_JOBS": "0",
        "METERLINE_RATE_LIMIT_PER_SECOND": "100000",
        "METERLINE_RATE_LIMIT_BURST": "100000",
        **extra,
    }


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def _lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    assert text.strip(), "the server wrote nothing on stderr"
    return [json.loads(line) for line in text.splitlines()]  # every line is one JSON object


def test_metrics_add_up_across_two_workers_and_logs_are_json(tmp_path: Path) -> None:
    env = _env(tmp_path)
    created = subprocess.run([CLI, "migrate"], env=env, capture_output=True, text=True, check=True)
    key = json.loads(
        subprocess.run([CLI, "accounts", "create", "ops", "--json"], env=env, capture_output=True, text=True,
                       check=True).stdout
    )["apiKey"]
    assert created.stdout == ""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "stderr.log"
    with log_path.open("wb") as log_file:
        proc = start_cli_server(env, port, "--workers", "2", stderr=log_file)
        try:
            token = httpx.post(f"{url}/login", json={"refreshToken": key}).json()["accessToken"]
            auth = {"Authorization": f"Bearer {token}"}
            sent = 0
            pids: set[int] = set()
            deadline = time.monotonic() + 60
            # New connections until both processes have served some (the kernel spreads accepts).
            while len(pids) < 2 and time.monotonic() < deadline:
                for _ in range(10):
                    resp = httpx.get(f"{url}/healthz", headers={"X-Request-Id": f"probe-{sent}"})
                    assert resp.status_code == 200 and resp.headers["x-request-id"] == f"probe-{sent}"
                    sent += 1
                time.sleep(0.3)
                pids = {line["pid"] for line in _lines(log_path) if line.get("route") == "/healthz"}
            assert len(pids) == 2
            events = [
                {"name": "e", "timestamp": "2026-01-01T00:00:00Z", "customerAlias": "c", "ref": f"r{i}", "data": {}}
                for i in range(20)
            ]
            for i in range(0, 20, 5):
                assert httpx.post(f"{url}/events", json={"events": events[i : i + 5]}, headers=auth).status_code == 200
            unsafe = httpx.get(f"{url}/healthz", headers={"X-Request-Id": "bad id;" + "x" * 70})
            sent += 1
            assert re.fullmatch(r"[0-9a-f]{24}", unsafe.headers["x-request-id"])
            for _ in range(6):  # whichever process answers the scrape, it sums every process
                scrape = samples(httpx.get(f"{url}/metrics").text)
                assert value(scrape, "meterline_http_requests_total", method="GET", route="/healthz",
                             status="200") == sent
                assert value(scrape, "meterline_events_total", outcome="accepted") == 20
                assert value(scrape, "meterline_http_requests_total", method="POST", route="/events",
                             status="200") == 4
                assert value(scrape, "meterline_ingestion_batch_duration_seconds_count") == 4
        finally:
            _stop(proc)
    lines = _lines(log_path)
    assert any(line.get("logger", "").startswith("uvicorn") for line in lines)  # uvicorn's own, as JSON
    listening = [line for line in lines if line.get("event") == "listening"]
    assert listening and listening[0]["url"] == url
    access = [line for line in lines if line.get("logger") == "meterline.access"]
    assert {"method", "path", "route", "status", "duration_ms", "request_id"} <= set(access[0])
    probe = [line for line in access if line["request_id"] == "probe-0"]
    assert len(probe) == 1 and probe[0]["route"] == "/healthz" and probe[0]["status"] == 200
    posted = [line for line in access if line["route"] == "/events"]
    assert len(posted) == 4 and all(line["account_id"] and line["status"] == 200 for line in posted)
    assert not any("bad id" in line["request_id"] for line in access)
    assert key not in log_path.read_text() and token not in log_path.read_text()


def test_access_log_can_be_turned_off(tmp_path: Path) -> None:
    env = _env(tmp_path, METERLINE_ACCESS_LOG="0")
    port = free_port()
    log_path = tmp_path / "stderr.log"
    with log_path.open("wb") as log_file:
        proc = start_cli_server(env, port, stderr=log_file)
        try:
            for _ in range(5):
                assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        finally:
            _stop(proc)
    lines = _lines(log_path)
    assert any(line.get("event") == "listening" for line in lines)
    assert not any(line.get("logger") == "meterline.access" for line in lines)
