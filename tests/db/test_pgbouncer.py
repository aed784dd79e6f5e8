"""Meterline behind PgBouncer in transaction pooling mode (PostgreSQL only: a test of the
PostgreSQL deployment): migrations, parallel ingestion and a consumption read through a
real PgBouncer with fewer server connections than the app's pool, so one app connection's
transactions run on different server connections.

PgBouncer is Debian's package; installed here when absent. It refuses to run as root: it
runs as the `postgres` system user (-u). Its config lives in a directory that user can
read. search_path as a startup parameter (`options=-csearch_path=...`, what the other
PostgreSQL tests use) is not passed on by PgBouncer 1.18, so this test uses a fresh
database instead of a schema.
"""

import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from meterline.app import create_app
from meterline.config import Settings
from meterline.db.engine import Database, open_database, transaction
from meterline.db.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, login, make_account
from tests.contracts import factories as f
from tests.metering.factories import create_meter, event, send
from tests.support import apt_install, free_port

PGBOUNCER = "/usr/sbin/pgbouncer"


def _ensure_pgbouncer() -> None:
    apt_install("pgbouncer", PGBOUNCER)


@pytest.fixture
def bouncer_url() -> Iterator[str]:
    """A fresh database, and the URL of a PgBouncer (transaction pooling, 2 server
    connections) in front of it."""
    _ensure_pgbouncer()
    admin_url = sa.engine.make_url(PG_ADMIN_URL)
    name = f"ml_pgb_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    workdir.chmod(0o755)
    port = free_port()
    (workdir / "users.txt").write_text(f'"{admin_url.username}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{name} = host={admin_url.host} port={admin_url.port or 5432} dbname={name}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 100\n"
    )
    for path in workdir.iterdir():
        path.chmod(0o644)
    proc = subprocess.Popen(
        [PGBOUNCER, "-u", "postgres", str(workdir / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"postgresql+psycopg://{admin_url.username}@127.0.0.1:{port}/{name}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} dbname={name} user={admin_url.username}").close()
                break
            except psycopg.OperationalError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "pgbouncer did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def _settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        jwt_secret="pgbouncer-test-secret-" + "x" * 32,
        background_jobs=False,
        rate_limit_per_second=100_000,
        rate_limit_burst=100_000,
        db_pool_size=4,
        db_max_overflow=2,
        db_pgbouncer=True,
    )


def test_ingestion_and_consumption_through_pgbouncer(bouncer_url: str) -> None:
    settings = _settings(bouncer_url)
    db: Database = open_database(settings)
    try:
        upgrade(db)  # migrations through PgBouncer
        account = make_account(db)
        app = create_app(settings, db=db)
        with TestClient(app, raise_server_exceptions=False) as api:
            api.headers["Authorization"] = f"Bearer {login(api, account.api_key)}"
            cid = f.customer(api, aliases=["acme"])
            meter = create_meter(api, operator="Sum", event_name="tokens")
            count = create_meter(api, operator="Count", event_name="tokens")
            pid = f.product(api, name="Tokens", meter_id=meter["id"])
            f.contract(api, cid, startDate="2026-01-31T00:00:00Z", products=[f.usage_line(pid, units=1000)])
            errors: list[BaseException] = []

            def sender(k: int) -> None:
                try:
                    for r in range(8):  # the same statements well past psycopg's 5 before it prepares
                        batch = [
                            event(
                                f"k{k}-{r}-{i}",
                                ts=f"2026-03-0{1 + i % 5}T10:00:00Z",
                                name="tokens",
                                value=Decimal("0.5"),
                            )
                            for i in range(20)
                        ]
                        batch.append(event(f"shared-{r}", ts="2026-03-01T10:00:00Z", name="tokens", value=1))
                        body = send(api, batch)
                        assert len(body["validEvents"]) + len(body["invalidEvents"]) == 21
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors
            for _ in range(7):  # the same read, past the prepare threshold
                resp = api.get(f"/customers/products-consumptions/{cid}", params={"at": "2026-03-15T12:00:00Z"})
                assert resp.status_code == 200, resp.text
                [entry] = resp.json()["productsConsumptions"]
                # 4 senders x 8 rounds x 20 events of 0.5, plus 8 shared refs of 1 stored once.
                assert entry["consumedAmount"] == 4 * 8 * 20 * 0.5 + 8
            got = api.get(f"/meters/{count['id']}")
            assert got.status_code == 200
        with transaction(db, write=False) as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM events").scalar_one() == 4 * 8 * 20 + 8
    finally:
        db.dispose()


def test_server_side_prepared_statements_break_behind_pgbouncer(bouncer_url: str) -> None:
    """Why db_pgbouncer exists: with psycopg's default (prepare after 5 executions), a
    statement prepared on one server connection is missing on the next one."""
    dsn = bouncer_url.replace("postgresql+psycopg://", "postgresql://")
    holder = psycopg.connect(dsn, autocommit=False)
    with psycopg.connect(dsn, prepare_threshold=0) as conn:
        conn.execute("SELECT 1").fetchall()  # prepared, on one server connection
        conn.commit()
        holder.execute("SELECT 1").fetchall()  # holds that idle server connection (its transaction stays open)
        failed = False
        for _ in range(4):
            try:
                conn.execute("SELECT 1").fetchall()
                conn.commit()
            except psycopg.errors.InvalidSqlStatementName:
                failed = True
                conn.rollback()
                break
        assert failed
    holder.close()
    with psycopg.connect(dsn, prepare_threshold=None) as conn:  # what db_pgbouncer sets
        for _ in range(10):
            assert conn.execute("SELECT 1").fetchall() == [(1,)]
            conn.commit()
