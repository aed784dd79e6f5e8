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
import sqlalchemy as sa
from fastapi.testclient import TestClient

from meterline.app import create_app
from meterline.auth import repository as auth_repo
from meterline.config import Settings
from meterline.db.engine import create_database, transaction
from tests.conftest import login
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


def _json_lines(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines()]


def test_unmigrated_database_gets_a_one_line_hint_and_no_file(database_url: str, backend: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'never.db'}" if backend == "sqlite" else database_url
    for args in (
        ("accounts", "create", "acme", "--json"),
        ("accounts", "list"),
        ("keys", "list", "a" * 24),
        ("keys", "revoke", "a" * 24),
        ("invoices", "close"),
        ("meters", "backfill"),
    ):
        out = _run(url, *args)
        assert out.returncode == 1 and out.stdout == "", (args, out.stderr)
        lines = _json_lines(out.stderr)  # the database line, then the hint: no traceback
        assert len(lines) == 2 and lines[-1]["level"] == "error"
        assert "meterline migrate" in str(lines[-1]["event"])
    assert list(tmp_path.iterdir()) == []  # SQLite: no stray file


def test_migrate_names_what_it_applied_and_every_command_its_database(
    database_url: str, backend: str, tmp_path: Path
) -> None:
    if backend == "postgres":  # a password in the URL (trust auth ignores it): never printed
        url = database_url.replace("postgres@", "postgres:hunter2-secret@")
    else:
        url = f"sqlite:///{tmp_path / 'm.db'}"
    first = _run(url, "migrate")
    assert first.returncode == 0, first.stderr
    lines = _json_lines(first.stderr)
    applied = [line["revision"] for line in lines if line["event"] == "migration_applied"]
    assert applied[0] == "0001_foundation" and len(applied) == len(set(applied)) >= 8
    again = _run(url, "migrate")
    events = [str(line["event"]) for line in _json_lines(again.stderr)]
    assert any(e == f"already at head {applied[-1]}" for e in events), events
    assert not any(line.get("event") == "migration_applied" for line in _json_lines(again.stderr))
    for args in (("migrate",), ("accounts", "list"), ("invoices", "close")):
        out = _run(url, *args)
        assert out.returncode == 0, out.stderr
        [db_line] = [line for line in _json_lines(out.stderr) if line["event"] == "database"]
        if backend == "postgres":
            assert "hunter2" not in out.stderr and "***" in str(db_line["url"])
        else:
            assert db_line["url"] == url


def test_demo_twice(database_url: str, backend: str) -> None:
    first = _run(database_url, "demo", "--days", "3", "--customers", "2")
    assert first.returncode == 0, first.stderr
    assert "Created the demo account" in first.stdout and "2,100 events over 3 days" in first.stdout
    key = first.stdout.split("API key: ", 1)[1].split()[0]
    customer = first.stdout.split("Customer: ", 1)[1].split()[0]
    assert sum(line.strip().startswith(("TOKEN=", "curl ")) for line in first.stdout.splitlines()) == 3
    again = _run(database_url, "demo", "--days", "3", "--customers", "2")
    assert again.returncode == 0 and "exists already" in again.stdout
    assert again.stdout.split("Customer: ", 1)[1].split()[0] == customer
    key2 = again.stdout.split("API key: ", 1)[1].split()[0]
    assert key2 != key
    db = create_database(database_url)
    try:
        with transaction(db, write=False) as conn:
            accounts = [r for r in auth_repo.list_accounts(conn) if r["name"] == "demo"]
            events = conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar_one()
            customers = conn.execute(sa.text("SELECT COUNT(*) FROM customers")).scalar_one()
        assert len(accounts) == 1 and events == 2100 and customers == 2  # nothing duplicated
        app = create_app(Settings(database_url=database_url, jwt_secret="x" * 40, background_jobs=False), db=db)
        with TestClient(app) as c:
            for k in (key, key2):
                c.headers["Authorization"] = f"Bearer {login(c, k)}"
                resp = c.get(f"/customers/products-consumptions/{customer}")
                assert resp.status_code == 200
                consumed = {p["productName"]: p["consumedAmount"] for p in resp.json()["productsConsumptions"]}
                assert set(consumed) == {"API calls", "LLM tokens"} and consumed["API calls"] > 0
    finally:
        db.dispose()
