"""A real webhook receiver (http.server on 127.0.0.1 in a thread) and helpers to verify
signatures with the served public key and to drive the worker with an explicit clock."""

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from meterline.db.engine import Database
from meterline.webhooks.retry import RetryPolicy
from meterline.webhooks.worker import WorkerConfig, new_client, run_forever, run_once

HANG = -1  # a scripted answer: hold the request open until the receiver is closed


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """Answers scripted statuses in order (then 200); records every request it gets."""

    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} requests, got {len(self.received)}")


@contextmanager
def receiver(script: list[int] | None = None) -> Iterator[Receiver]:
    state = Receiver(script=list(script or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status = state.script.pop(0) if state.script else 200
            if status == HANG:
                state.release.wait(60)
                status = 200
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def verify(public_pem: str, got: Received) -> None:
    """Raises unless X-Signature is RSASSA-PKCS1-v1_5 SHA-256 over `timestamp.body`."""
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    assert got.headers["x-signature-version"] == "v1"
    assert got.headers["content-type"] == "application/json"
    timestamp = got.headers["x-timestamp"]
    assert timestamp.isdigit() and abs(int(timestamp) - time.time()) < 300
    signature = base64.b64decode(got.headers["x-signature"], validate=True)
    key.verify(signature, timestamp.encode() + b"." + got.body, padding.PKCS1v15(), hashes.SHA256())


FAST = WorkerConfig(
    poll_seconds=0.05,
    timeout_seconds=5.0,
    lease_seconds=30.0,
    retry=RetryPolicy(base_seconds=10.0, cap_seconds=3600.0, give_up_seconds=86_400.0),
    allowed_networks="127.0.0.0/8",  # the receivers listen on 127.0.0.1
)


def drive(db: Database, *, now: int | None = None, config: WorkerConfig = FAST, rand: float = 0.5) -> int:
    """One worker pass at an explicit `now` (µs); returns the number of deliveries attempted."""

    async def go() -> int:
        async with new_client(config.allowed_networks) as client:
            return await run_once(db, client, config, now=now, rand=lambda: rand)

    return asyncio.run(go())


@contextmanager
def running_worker(db: Database, config: WorkerConfig = FAST) -> Iterator[None]:
    """run_forever in its own thread and event loop, stopped (and joined) on exit."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        box["loop"], box["stop"] = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        await run_forever(db, config, box["stop"])

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)
        assert not thread.is_alive()
