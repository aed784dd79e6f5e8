"""Faults on the wire, over raw keep-alive sockets against a real uvicorn server (both backends):
a 500 leaves the connection usable, a body that never finishes is answered 408 and freed, a
client that goes away mid-body is logged in one line without a traceback."""

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from meterline.app import create_app
from meterline.config import Settings
from meterline.db.engine import Database
from tests.conftest import Account
from tests.support import LiveServer, LogLines, collect_logs, raw_request, read_http_response, start_live_server


@pytest.fixture
def logs() -> Iterator[LogLines]:
    with collect_logs() as lines:
        yield lines


@pytest.fixture
def quick_server(settings: Settings, db: Database) -> Iterator[LiveServer]:
    server = start_live_server(create_app(settings.model_copy(update={"body_timeout_seconds": 1.0}), db=db))
    yield server
    server.stop()


def _token(server: LiveServer, account: Account) -> str:
    resp = httpx.post(f"{server.url}/login", json={"refreshToken": account.api_key})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["accessToken"])


def _connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    return sock


def test_a_500_leaves_the_keep_alive_connection_usable(app: FastAPI, account: Account) -> None:
    @app.get("/__boom")
    def boom() -> None:
        raise RuntimeError("secret SQL: SELECT * FROM api_keys")

    server = start_live_server(app)
    try:
        token = _token(server, account)
        auth = {"Authorization": f"Bearer {token}"}
        with _connect(server) as sock:
            sock.sendall(raw_request("GET", "/__boom", headers=auth))
            status, headers, body = read_http_response(sock)
            assert status == 500
            err = json.loads(body)
            assert (err["type"], err["code"]) == ("api_error", "internal_error")
            assert "SELECT" not in body.decode() and headers["x-request-id"] in err["message"]
            if headers.get("connection", "").lower() != "close":
                sock.sendall(raw_request("GET", "/customers", headers=auth))
                status, _, body = read_http_response(sock)
                assert status == 200 and "customers" in json.loads(body)
    finally:
        server.stop()


@pytest.mark.parametrize("path", ["/customers", "/events"])
def test_a_body_that_never_finishes_is_408_and_the_connection_freed(
    quick_server: LiveServer, account: Account, path: str
) -> None:
    token = _token(quick_server, account)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Length": "1000"}
    with _connect(quick_server) as sock:
        sock.sendall(raw_request("POST", path, body=b'{"name": "sl', headers=headers))
        status, got, body = read_http_response(sock)  # the socket's 15 s timeout bounds the wait
        assert status == 408, body
        err = json.loads(body)
        assert (err["type"], err["code"]) == ("invalid_request_error", "request_timeout")
        assert err["message"]
        assert got.get("connection", "").lower() == "close"
        assert sock.recv(1024) == b""  # the server closed its side: the connection is freed


@pytest.mark.parametrize("path", ["/customers", "/events"])
def test_a_client_gone_mid_body_is_one_log_line_without_traceback(
    quick_server: LiveServer, account: Account, logs: LogLines, path: str
) -> None:
    token = _token(quick_server, account)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Length": "5000"}
    with _connect(quick_server) as sock:
        sock.sendall(raw_request("POST", path, body=b'{"events": [', headers=headers))
        time.sleep(0.3)  # the server is now waiting for the rest of the body
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "client_disconnected_mid_body" not in logs.text:
        time.sleep(0.05)
    time.sleep(0.3)  # anything logged after the disconnect line is caught too
    assert sum("client_disconnected_mid_body" in line for line in logs.lines) == 1, logs.text
    assert "Traceback" not in logs.text
    # the server still serves
    assert httpx.get(f"{quick_server.url}/customers", headers={"Authorization": f"Bearer {token}"}).status_code == 200
