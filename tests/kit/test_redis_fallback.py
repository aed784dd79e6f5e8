"""Redis that does not answer never breaks the API: requests are served with the in-process
bucket, the outage is logged once, and the shared limit resumes by itself once Redis answers.

"Redis that does not answer" is real: a TCP server that accepts and never replies, and a
port with nothing listening; recovery is a real forwarder to the machine's Redis started on
that port. Every test uses its own key prefix or accounts, so nothing is flushed."""

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from fastapi.testclient import TestClient

from meterline.app import create_app
from meterline.config import Settings
from meterline.db.engine import Database
from meterline.kit.ratelimit import RedisBucket
from meterline.logs import configure_logging
from tests.conftest import Account, login
from tests.support import LogLines, collect_logs, free_port

REDIS = ("127.0.0.1", 6379)


@contextmanager
def _listening(port: int, on_accept: "type[_Silent] | type[_Forward]") -> Iterator[None]:
    server = socket.create_server(("127.0.0.1", port))
    conns: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conns.append(conn)
            on_accept(conn, conns)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        server.close()
        for c in conns:
            c.close()


class _Silent:
    """Accepts and never answers (a hung Redis)."""

    def __init__(self, conn: socket.socket, conns: list[socket.socket]) -> None:
        pass


class _Forward:
    """Pipes the connection to the real Redis, both ways."""

    def __init__(self, conn: socket.socket, conns: list[socket.socket]) -> None:
        upstream = socket.create_connection(REDIS)
        conns.append(upstream)
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass


@contextmanager
def _unanswering_redis(kind: str) -> Iterator[str]:
    port = free_port()
    if kind == "refused":  # nothing listens on the port
        yield f"redis://127.0.0.1:{port}/15"
        return
    with _listening(port, _Silent):
        yield f"redis://127.0.0.1:{port}/15"


@pytest.fixture
def logs() -> Iterator[LogLines]:
    configure_logging("INFO")
    with collect_logs() as lines:
        yield lines


@pytest.mark.parametrize("kind", ["hung", "refused"])
def test_requests_are_served_locally_while_redis_does_not_answer(
    settings: Settings, db: Database, account: Account, logs: LogLines, kind: str
) -> None:
    with _unanswering_redis(kind) as url:
        limited = settings.model_copy(update={"redis_url": url, "rate_limit_per_second": 2, "rate_limit_burst": 5})
        with TestClient(create_app(limited, db=db), raise_server_exceptions=False) as c:
            c.headers["Authorization"] = f"Bearer {login(c, account.api_key)}"
            codes = [c.get("/customers").status_code for _ in range(8)]
    assert codes[:5] == [200] * 5, codes  # served, not 500
    assert codes[5:] == [429] * 3, codes  # and still limited, by this process's bucket
    assert logs.count("rate_limit_redis_unavailable") == 1, logs.text  # once, not per request


def test_the_shared_limit_resumes_by_itself_when_redis_answers_again(logs: LogLines) -> None:
    port = free_port()
    prefix = f"test:{uuid.uuid4().hex}:"
    bucket = RedisBucket(
        f"redis://127.0.0.1:{port}/15", rate=1, burst=3, timeout=0.05, retry_seconds=0.2, prefix=prefix
    )
    direct = RedisBucket("redis://127.0.0.1:6379/15", rate=1, burst=3, prefix=prefix)
    real = redis.Redis(*REDIS, db=15)

    async def down() -> None:
        assert await bucket.acquire("acct") == 0.0
        assert not bucket.shared
        assert await bucket.acquire("acct") == 0.0  # within the backoff: local, no new attempt

    async def up() -> None:
        assert await bucket.acquire("acct") == 0.0
        assert bucket.shared
        assert real.exists(prefix + "acct") == 1  # the bucket lives in Redis again
        assert await direct.acquire("acct") == 0.0  # one bucket shared with another process
        assert await bucket.acquire("acct") == 0.0
        assert await direct.acquire("acct") > 0  # burst 3 spent across the two

    asyncio.run(down())
    with _listening(port, _Forward):
        time.sleep(0.3)  # past the first backoff
        asyncio.run(up())
    assert logs.count("rate_limit_redis_unavailable") == 1, logs.text
    assert logs.count("rate_limit_redis_recovered") == 1, logs.text
