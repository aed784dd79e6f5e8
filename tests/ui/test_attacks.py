"""Attacks on the dashboard (/ui) and the API extensions from a break-it pass: bad input
that once answered 500 (now 400/403), login CSRF, and behaviour probed and found correct
(tenant isolation, CSRF on every form, no open redirect), on SQLite and PostgreSQL."""

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from meterline.db.engine import Database
from tests.conftest import Account, login, make_account
from tests.ui.data import issued_invoice

HUGE = "9" * 5000  # str.isdigit() is True, int() raises ValueError (Python's 4300-digit limit)
OVERFLOW_INSTANTS = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")


def _ui(app: FastAPI, api_key: str) -> TestClient:
    c = TestClient(app, raise_server_exceptions=False, base_url="http://testserver")
    resp = c.post("/ui/sign-in", data={"key": api_key, "next": "/ui/overview"}, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    return c


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture
def ui(app: FastAPI, account: Account) -> Iterator[TestClient]:
    with _ui(app, account.api_key) as c:
        yield c


def _webhook(api: TestClient) -> str:
    resp = api.post("/webhook", json={"callbackUrl": "https://example.com/hook", "eventType": "Overage"})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["webhook"]["id"])


# --- bad input in the URL: 400 pages, never a 500 ------------------------------------------------


@pytest.mark.parametrize("path", ["/ui/events", "/ui/meters", "/ui/webhooks"])
def test_a_limit_of_thousands_of_digits_is_400(ui: TestClient, path: str) -> None:
    resp = ui.get(path, params={"limit": HUGE})
    assert resp.status_code == 400, (resp.status_code, resp.text[:200])


def test_the_delivery_logs_limit_of_thousands_of_digits_is_400(ui: TestClient, api: TestClient) -> None:
    wid = _webhook(api)
    resp = ui.get(f"/ui/webhooks/{wid}", params={"limit": HUGE})
    assert resp.status_code == 400, (resp.status_code, resp.text[:200])


@pytest.mark.parametrize("bound", ["from", "to"])
@pytest.mark.parametrize("value", OVERFLOW_INSTANTS)
def test_an_events_bound_outside_utc_years_is_400(ui: TestClient, bound: str, value: str) -> None:
    # datetime.fromisoformat accepts it; astimezone(UTC) raises OverflowError (kit.times.parse_instant)
    resp = ui.get("/ui/events", params={bound: value})
    assert resp.status_code == 400, (resp.status_code, resp.text[:200])
    assert "text/html" in resp.headers["content-type"]


@pytest.mark.parametrize(
    "params",
    [
        {"startTime": OVERFLOW_INSTANTS[0], "endTime": "2026-01-01T00:00:00Z"},
        {"startTime": "2026-01-01T00:00:00Z", "endTime": OVERFLOW_INSTANTS[1]},
    ],
)
def test_ingestion_counts_instant_outside_utc_years_is_400(api: TestClient, params: dict[str, str]) -> None:
    resp = api.get("/ingestion-counts", params=params)
    assert resp.status_code == 400, (resp.status_code, resp.text[:200])


def test_get_events_instant_outside_utc_years_is_400(api: TestClient) -> None:
    resp = api.get("/events", params={"startTime": OVERFLOW_INSTANTS[0], "endTime": "2027-01-01T00:00:00Z"})
    assert resp.status_code == 400, (resp.status_code, resp.text[:200])


# --- session handling ------------------------------------------------------------------------


def test_a_cross_site_sign_in_is_refused(app: FastAPI, db: Database, account: Account) -> None:
    """Another site's page can auto-submit a form to POST /ui/sign-in with the ATTACKER's key:
    the victim's browser stores the attacker's session (SameSite=Strict does not stop a cookie
    being SET by a cross-site top-level POST; verified in Chromium), replacing the victim's own.
    The victim then works in the attacker's account (e.g. records payments / pastes events
    there). A cross-site sign-in must be refused (Origin / Sec-Fetch-Site check, or a
    pre-session CSRF cookie + form value)."""
    attacker = make_account(db, "attacker")
    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.post(
            "/ui/sign-in",
            data={"key": attacker.api_key, "next": "/ui/overview"},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
            follow_redirects=False,
        )
        assert resp.status_code == 403, (resp.status_code, resp.headers.get("set-cookie"))


# --- tenant isolation, CSRF, open redirect -------------------------------------------------------


def test_other_accounts_invoice_cannot_be_read_or_paid(app: FastAPI, db: Database, api: TestClient) -> None:
    _, invoice_id = issued_invoice(api)
    other = make_account(db, "other")
    with _ui(app, other.api_key) as c:
        assert c.get(f"/ui/invoices/{invoice_id}").status_code == 404
        csrf = _csrf(c.get("/ui/overview").text)
        resp = c.post(f"/ui/invoices/{invoice_id}/payments", data={"csrf": csrf, "amount": "1", "reference": "x"})
        assert resp.status_code == 404
    assert api.get(f"/invoices/{invoice_id}/payments").json()["payments"] == []


def test_other_accounts_webhook_cannot_be_read_tested_or_redelivered(
    app: FastAPI, db: Database, api: TestClient
) -> None:
    wid = _webhook(api)
    delivery = api.post(f"/webhooks/{wid}/test").json()["delivery"]["id"]
    before = len(api.get(f"/webhooks/{wid}/deliveries").json()["deliveries"])
    other = make_account(db, "other")
    with _ui(app, other.api_key) as c:
        csrf = _csrf(c.get("/ui/overview").text)
        assert c.get(f"/ui/webhooks/{wid}").status_code == 404
        assert c.post(f"/ui/webhooks/{wid}/test", data={"csrf": csrf}).status_code == 404
        assert c.post(f"/ui/webhooks/{wid}/deliveries/{delivery}/redeliver", data={"csrf": csrf}).status_code == 404
    with TestClient(app, raise_server_exceptions=False) as c2:
        c2.headers["Authorization"] = f"Bearer {login(c2, other.api_key)}"
        assert c2.post(f"/webhooks/{wid}/test").status_code == 404
        assert c2.post(f"/webhooks/{wid}/deliveries/{delivery}/redeliver").status_code == 404
    assert len(api.get(f"/webhooks/{wid}/deliveries").json()["deliveries"]) == before


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com/ui/", "/\\evil.com", "/ui/\\evil"])
def test_sign_in_next_is_no_open_redirect(client: TestClient, account: Account, target: str) -> None:
    resp = client.post("/ui/sign-in", data={"key": account.api_key, "next": target}, follow_redirects=False)
    assert resp.headers["location"] == "/ui/overview"


# --- recording a payment: out-of-domain values are 400 -------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": "1e999999", "reference": "exp"},  # decimal.InvalidOperation in payments._check_amount
        {"amount": HUGE, "reference": "digits"},  # same: quantize(CENT) beyond the context precision
        {"amount": "1", "reference": "early", "paidAt": OVERFLOW_INSTANTS[0]},  # OverflowError in parse_instant
        {"amount": "1", "reference": "late", "paidAt": OVERFLOW_INSTANTS[1]},
    ],
)
def test_the_payment_form_refuses_out_of_domain_values_with_400(
    app: FastAPI, api: TestClient, account: Account, fields: dict[str, str]
) -> None:
    _, invoice_id = issued_invoice(api)
    with _ui(app, account.api_key) as c:
        csrf = _csrf(c.get(f"/ui/invoices/{invoice_id}").text)
        resp = c.post(f"/ui/invoices/{invoice_id}/payments", data={"csrf": csrf, **fields}, follow_redirects=False)
        assert resp.status_code == 400, (resp.status_code, resp.text[:200])


@pytest.mark.parametrize(
    "body",
    [
        '{"amount": 1e500, "reference": "exp"}',
        '{"amount": 1, "reference": "early", "paidAt": "0001-01-01T00:00:00+14:00"}',
    ],
)
def test_the_payments_api_refuses_out_of_domain_values_with_400(api: TestClient, body: str) -> None:
    _, invoice_id = issued_invoice(api)
    resp = api.post(f"/invoices/{invoice_id}/payments", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400, (resp.status_code, resp.text[:200])


# --- the CSRF check on a non-ASCII value -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/ui/sign-out", "/ui/events/dry-run"])
def test_a_non_ascii_csrf_value_is_403(ui: TestClient, path: str) -> None:
    """hmac.compare_digest(str, str) raises TypeError for non-ASCII text: session.check_csrf
    must compare bytes (or reject non-ASCII) and answer 403."""
    resp = ui.post(path, data={"csrf": "é", "events": "[]"})
    assert resp.status_code == 403, (resp.status_code, resp.text[:200])


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "same-origin", "Origin": "https://proxy.example"}, {"Origin": "http://testserver"}, {}],
)
def test_a_same_origin_sign_in_is_accepted(app: FastAPI, account: Account, headers: dict[str, str]) -> None:
    """Sec-Fetch-Site decides when the browser sends it (a proxy may rewrite Host); else the
    Origin's host must be this one; a client that sends neither (curl) is not a browser's
    cross-site post."""
    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.post("/ui/sign-in", data={"key": account.api_key}, headers=headers, follow_redirects=False)
        assert resp.status_code == 303 and "meterline_ui=" in resp.headers["set-cookie"]


def test_an_origin_of_another_host_without_fetch_metadata_is_refused(app: FastAPI, account: Account) -> None:
    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.post("/ui/sign-in", data={"key": account.api_key}, headers={"Origin": "http://evil.example"})
        assert resp.status_code == 403 and "set-cookie" not in resp.headers
