"""The CLI contract: exact output formats scripts rely on, through the installed command."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import free_port

MeterlineBin = str(Path(sys.executable).with_name("meterline"))


def _run(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "METERLINE_DATABASE_URL": db_url}
    return subprocess.run([MeterlineBin, *args], env=env, capture_output=True, text=True, timeout=60)


def test_accounts_and_keys(tmp_path: Path) -> None:
    assert shutil.which(MeterlineBin)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert _run(url, "migrate").returncode == 0
    out = _run(url, "accounts", "create", "acme", "--json")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1
    created = json.loads(lines[0])
    assert set(created) == {"accountId", "apiKey"} and len(created["accountId"]) == 24

    out = _run(url, "keys", "create", created["accountId"], "--json")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 1
    key = json.loads(out.stdout)
    assert set(key) == {"keyId", "apiKey"} and key["apiKey"] != created["apiKey"]

    listed = _run(url, "keys", "list", created["accountId"], "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["keyId"] for r in rows][1] == key["keyId"] and all(r["revokedAt"] is None for r in rows)
    assert all(key["apiKey"] not in line for line in listed.stdout.splitlines())
    assert key["keyId"] in _run(url, "keys", "list", created["accountId"]).stdout

    assert _run(url, "keys", "revoke", key["keyId"]).returncode == 0
    rows = [json.loads(line) for line in _run(url, "keys", "list", created["accountId"], "--json").stdout.splitlines()]
    assert rows[1]["revokedAt"] is not None and rows[0]["revokedAt"] is None

    bad = _run(url, "keys", "create", "0" * 24, "--json")
    assert bad.returncode == 1 and "No account" in bad.stderr and bad.stdout == ""
    assert _run(url, "keys", "revoke", "f" * 24).returncode == 1


def test_serve_creates_default_account_and_its_key_logs_in(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "METERLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    proc = subprocess.Popen(
        [MeterlineBin, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        key = None
        deadline = time.monotonic() + 30
        while key is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "API key" in line:
                key = line.rsplit(" ", 1)[-1].strip()
        assert key and key.startswith("ml_")
        resp = None
        while time.monotonic() < deadline:
            try:
                resp = httpx.post(f"http://127.0.0.1:{port}/login", json={"refreshToken": key})
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert resp is not None and resp.status_code == 200 and resp.json()["accessToken"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    # A second start on the same database keeps the account and prints no new key.
    proc = subprocess.Popen(
        [MeterlineBin, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(0.2)
        deadline = time.monotonic() + 30
        ok = False
        while time.monotonic() < deadline:
            try:
                ok = httpx.post(f"http://127.0.0.1:{port}/login", json={"refreshToken": key}).status_code == 200
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert ok
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert "API key" not in out
