"""Shared fixtures: every API test runs on a real SQLite file AND on the machine's PostgreSQL.

- `db`: a migrated database, fresh per test (a new SQLite file, or a new PostgreSQL schema
  dropped afterwards).
- `app` / `client`: the real app over ASGI (starlette's TestClient).
- `live_server`: the real app under uvicorn on a free 127.0.0.1 port (for vayu-py and
  anything whose behaviour is HTTP's).
- `account`: a fresh tenant with an API key, and `api`, a client already logged in as it.
"""

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.app import create_app
from meterline.auth import service as auth_service
from meterline.config import Settings
from meterline.db.engine import Database, create_database, transaction
from meterline.db.migrate import upgrade
from tests.support import LiveServer, start_live_server

PG_ADMIN_URL = os.environ.get("METERLINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once, in one line, when the PostgreSQL the `[postgres]` tests need is not
    reachable (rather than one error per test). Checked once, by the controlling process."""
    if hasattr(session.config, "workerinput"):  # a pytest-xdist worker: its controller checked
        return
    engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            pass
    except Exception as exc:
        url = sa.make_url(PG_ADMIN_URL).render_as_string(hide_password=True)
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
        # A UsageError: pytest prints it once ("ERROR: ...") and exits 4; pytest.exit() would print it twice.
        raise pytest.UsageError(
            f"PostgreSQL is unreachable at METERLINE_TEST_PG_URL={url} ({reason}): start it, "
            "or set METERLINE_TEST_PG_URL to a reachable database (see README)."
        ) from None
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _pg_schema_url(schema: str) -> str:
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'meterline.db'}"
        return
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = create_database(database_url)
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_secret="test-secret-" + "x" * 32,
        background_jobs=False,
        rate_limit_per_second=100_000,
        rate_limit_burst=100_000,
        key_status_ttl_seconds=0.5,
        webhook_allowed_networks="127.0.0.0/8",  # the tests' webhook receivers listen on 127.0.0.1
        invoice_grace_seconds=0,  # tests of the grace (tests/invoices/test_grace.py) set their own
    )


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, db=db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@dataclass
class Account:
    account_id: str
    key_id: str
    api_key: str


def make_account(db: Database, name: str = "acme") -> Account:
    with transaction(db) as conn:
        created = auth_service.create_account(conn, name=name)
    return Account(created.account_id, created.key_id, created.api_key)


@pytest.fixture
def account(db: Database) -> Account:
    return make_account(db)


def login(client: TestClient, api_key: str) -> str:
    resp = client.post("/login", json={"refreshToken": api_key})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["accessToken"])


@pytest.fixture
def api(app: FastAPI, account: Account) -> Iterator[TestClient]:
    """A client logged in as `account`."""
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {login(c, account.api_key)}"
        yield c


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    server = start_live_server(app)
    yield server
    server.stop()
