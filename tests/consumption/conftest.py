from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from meterline.app import create_app
from meterline.config import Settings
from meterline.db.engine import create_database
from tests.conftest import Account, login


@pytest.fixture
def other(settings: Settings, account: Account) -> Iterator[TestClient]:
    """Another server on the same database: its own app, engine and connections."""
    db = create_database(settings.database_url)
    with TestClient(create_app(settings, db=db), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {login(c, account.api_key)}"
        yield c
    db.dispose()
