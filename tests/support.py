"""Test helpers that are not fixtures: a real uvicorn server in a thread, free ports, Debian
packages installed when a test needs them."""

import fcntl
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    server: uvicorn.Server
    thread: threading.Thread
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_live_server(app: FastAPI) -> LiveServer:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.01)
    return LiveServer(server, thread, port)


CLI = str(Path(sys.executable).parent / "meterline")


def start_cli_server(
    env: dict[str, str], port: int, *args: str, stderr: IO[bytes] | int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """`meterline serve` in a subprocess (extra CLI args after the port), once it answers;
    its stderr (JSON log lines) to `stderr`."""
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port), *args], env=env, stdout=subprocess.DEVNULL, stderr=stderr
    )
    deadline = time.monotonic() + 90  # a loaded machine: imports alone can take many seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/meters", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def read_http_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response read off a raw socket (Content-Length framed): status, headers
    (lower-case names), body. Raises ConnectionError if the server closed or reset it first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a full response head: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        body += chunk
    return int(status_line.split()[1]), headers, body[:length]


def raw_request(method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """The bytes of an HTTP/1.1 keep-alive request (Content-Length as given, else len(body))."""
    fields = {"Host": "127.0.0.1", "Connection": "keep-alive", "Content-Length": str(len(body)), **(headers or {})}
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode() + body


class LogLines(logging.Handler):
    """Every record of the app's and the server's loggers, formatted (tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def count(self, event: str) -> int:
        return sum(event in line for line in self.lines)


@contextmanager
def collect_logs() -> Iterator[LogLines]:
    """LogLines on the root logger and uvicorn's (which do not propagate), at INFO."""
    handler = LogLines()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn"), logging.getLogger("uvicorn.error")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def apt_install(package: str, path: str) -> None:
    """Install Debian's `package` when `path` (one of its files) is missing: once per machine,
    under one file lock for every test process, since two apt-get runs at once fail on apt's
    own lock (exit 100). Fails the test when it cannot install (not root, no apt-get)."""
    import pytest

    with open("/tmp/meterline-apt.lock", "w") as lock:  # noqa: S108 - a machine-wide lock
        fcntl.flock(lock, fcntl.LOCK_EX)
        if Path(path).exists():
            return
        apt = shutil.which("apt-get")
        if apt is None or os.geteuid() != 0:
            pytest.fail(f"{path} is missing: install Debian's {package} (apt-get install {package}) as root")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        wait = [apt, "-o", "DPkg::Lock::Timeout=300"]  # and another apt of the machine's: waited for
        install = [*wait, "install", "-y", "-q", package]
        if subprocess.run(install, env=env, capture_output=True).returncode:
            subprocess.run([*wait, "update", "-q"], env=env, capture_output=True, check=True)
            subprocess.run(install, env=env, capture_output=True, check=True)
