"""Helpers of the meters, events and webhooks page tests: a signed-in httpx client on the
live server and the CSRF value its pages carry."""

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx

from meterline.db.engine import Database
from tests.conftest import Account
from tests.support import LiveServer
from tests.webhooks import support as webhooks_support

_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@contextmanager
def signed_in(live_server: LiveServer, account: Account) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url) as client:
        resp = client.post("/ui/sign-in", data={"key": account.api_key, "next": "/ui/overview"})
        assert resp.status_code == 303
        yield client


def csrf_of(client: httpx.Client, path: str = "/ui/overview") -> str:
    match = _CSRF.search(client.get(path).text)
    assert match is not None
    return match.group(1)


def drive(db: Database, **kwargs: Any) -> int:
    """One webhook worker pass (tests.webhooks.support.drive) in a thread of its own:
    Playwright's sync API keeps an event loop running in the test's thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(webhooks_support.drive, db, **kwargs).result()
