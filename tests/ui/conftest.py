"""Browser fixtures: headless Debian Chromium driven by Playwright for Python.

- `chromium`: /usr/bin/chromium, installed with apt-get (Debian's `chromium`) when absent.
  Playwright never downloads a browser; it launches that executable.
- `dashboard`: a signed-in page on a real uvicorn server (`live_server`, either backend),
  1280x800. Every request the page makes is recorded, and at teardown the fixture fails the
  test if one left for another host or the console logged an error.
- `Dashboard.shot(name)` writes test-artifacts/ui/<backend>/<name>.png (not committed).
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import Account
from tests.support import LiveServer, apt_install

CHROMIUM = os.environ.get("METERLINE_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
# As the machine's notes advise: no background networking (the sandbox's network is closed).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    apt_install("chromium", CHROMIUM)
    return CHROMIUM


# Per module, not per session: while Playwright's sync API runs, its event loop is the
# running loop of the test thread, and tests elsewhere that call asyncio.run() (the
# webhook worker's tests) would fail in the same process.
@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@dataclass
class Dashboard:
    page: Page
    base: str
    backend: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.ok, (path, response and response.status)

    def shot(self, name: str) -> Path:
        out = ARTIFACTS / self.backend / f"{name}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(out))
        return out

    def foreign_requests(self) -> list[str]:
        here = urlsplit(self.base).netloc
        return [u for u in self.requests if not u.startswith("data:") and urlsplit(u).netloc != here]


def sign_in(page: Page, base: str, api_key: str) -> None:
    page.goto(base + "/ui/sign-in")
    page.fill("#key", api_key)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/ui/overview")


@pytest.fixture
def dashboard(browser: Browser, live_server: LiveServer, account: Account, backend: str) -> Iterator[Dashboard]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    board = Dashboard(page, live_server.url, backend)
    page.on("request", lambda r: board.requests.append(r.url))
    page.on("console", lambda m: board.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: board.console_errors.append(str(e)))
    sign_in(page, live_server.url, account.api_key)
    yield board
    context.close()
    assert board.foreign_requests() == [], "the dashboard made a request to another host"
    assert board.console_errors == [], "the browser console logged an error"
