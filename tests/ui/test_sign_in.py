"""Signing in to the dashboard with an API key, on both backends, over real HTTP."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import Browser, expect

from meterline.auth import service as auth_service
from meterline.db.engine import Database, transaction
from tests.conftest import Account
from tests.support import LiveServer
from tests.ui.conftest import Dashboard, sign_in


def test_a_key_signs_in_and_the_overview_names_the_account(dashboard: Dashboard, account: Account) -> None:
    page = dashboard.page
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("header.top")).to_contain_text(account.account_id)
    dashboard.shot("overview-signed-in")
    cookie = next(c for c in page.context.cookies() if c["name"] == "meterline_ui")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"


def test_a_wrong_key_is_refused_with_a_message(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(live_server.url + "/ui/sign-in")
    page.fill("#key", "ml_not_a_key")
    page.click("button[type=submit]")
    expect(page.locator("[role=alert]")).to_have_text("That API key is not valid.")
    assert not [c for c in context.cookies() if c["name"] == "meterline_ui"]
    context.close()


def test_a_deep_link_signs_in_then_returns_to_it(browser: Browser, live_server: LiveServer, account: Account) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(live_server.url + "/ui/overview?x=1")
    assert page.url == live_server.url + "/ui/sign-in?next=%2Fui%2Foverview%3Fx%3D1"
    page.fill("#key", account.api_key)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/ui/overview?x=1")
    context.close()


def test_sign_out_ends_the_session(dashboard: Dashboard) -> None:
    page = dashboard.page
    page.click("header .signout button")
    page.wait_for_url(dashboard.base + "/ui/sign-in")
    assert not [c for c in page.context.cookies() if c["name"] == "meterline_ui"]
    page.goto(dashboard.base + "/ui/overview")
    assert page.url.startswith(dashboard.base + "/ui/sign-in?next=")


@contextmanager
def _signed_in_client(live_server: LiveServer, account: Account) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url) as client:
        resp = client.post("/ui/sign-in", data={"key": account.api_key, "next": "/ui/overview"})
        assert resp.status_code == 303 and resp.headers["location"] == "/ui/overview"
        yield client


def test_a_post_without_the_forms_csrf_value_is_refused(live_server: LiveServer, account: Account) -> None:
    with _signed_in_client(live_server, account) as client:
        assert client.post("/ui/sign-out", data={}).status_code == 403
        assert client.post("/ui/sign-out", data={"csrf": "0" * 32}).status_code == 403
        assert client.get("/ui/overview").status_code == 200  # still signed in


def test_pages_forbid_other_hosts_and_framing(live_server: LiveServer, account: Account) -> None:
    with _signed_in_client(live_server, account) as client:
        resp = client.get("/ui/overview")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_a_revoked_key_ends_its_sessions(live_server: LiveServer, account: Account, db: Database) -> None:
    with _signed_in_client(live_server, account) as client:
        with transaction(db) as conn:
            auth_service.revoke_key(conn, key_id=account.key_id)
        time.sleep(0.6)  # the key-status cache's ttl in the test settings (0.5 s)
        resp = client.get("/ui/overview")
    assert resp.status_code == 303 and resp.headers["location"].startswith("/ui/sign-in?next=")


@pytest.mark.parametrize("path", ["/ui/static/../../config.py", "/ui/static/%2e%2e/session.py", "/ui/static/nope.js"])
def test_static_files_stay_inside_their_folder(live_server: LiveServer, path: str) -> None:
    resp = httpx.get(live_server.url + path)
    assert resp.status_code == 404


def test_the_chart_library_is_served_from_the_package(live_server: LiveServer) -> None:
    resp = httpx.get(live_server.url + "/ui/static/vendor/uplot/uPlot.iife.min.js")
    assert resp.status_code == 200 and "uPlot" in resp.text[:2000]


def test_after_sign_in_an_open_redirect_is_impossible(live_server: LiveServer, account: Account) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        for target in ("https://evil.example/", "//evil.example/ui/", "/api/x"):
            resp = client.post("/ui/sign-in", data={"key": account.api_key, "next": target})
            assert resp.headers["location"] == "/ui/overview"


def test_sign_in_helper_lands_on_the_overview(browser: Browser, live_server: LiveServer, account: Account) -> None:
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server.url, account.api_key)
    expect(page.locator("h1")).to_have_text("Overview")
    context.close()
