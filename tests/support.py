"""Test helpers that are not fixtures: a real uvicorn server in a thread, free ports."""

import socket
import subprocess
import sys
import threading
import time
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
