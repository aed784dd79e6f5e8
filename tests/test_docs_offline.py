"""/docs and /redoc work offline: every script, style and icon comes from this server
(the installed fastapi-offline package), none from a CDN."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from meterline.app import create_app
from meterline.config import Settings

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(page: str, tmp_path: Path) -> None:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'docs.db'}", jwt_secret="d" * 40, background_jobs=False)
    )
    with TestClient(app) as c:
        resp = c.get(page)
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/html")
        html = resp.text
        assert "http://" not in html and "https://" not in html, html
        assets = ASSET.findall(html)
        scripts = [a for a in assets if a.endswith(".js")]
        assert scripts, html
        for url in assets:
            assert url.startswith("/") and not url.startswith("//"), url
            got = c.get(url)
            assert got.status_code == 200, url
            assert len(got.content) > 1000, url
            if url.endswith(".js"):
                assert "javascript" in got.headers["content-type"], (url, got.headers["content-type"])
        spec = re.search(r"""(?:url: |spec-url=)["']([^"']+)["']""", html)
        assert spec and c.get(spec.group(1)).json()["info"]["title"] == "Vayu API"
