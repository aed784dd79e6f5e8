"""Fixtures of the metering tests."""

from collections.abc import Iterator

import pytest

from tests.metering.factories import backlog_everywhere


@pytest.fixture
def folder_everywhere() -> Iterator[None]:
    """Ingestion leaves the rollups to the folder (PostgreSQL's path) on SQLite too, so the
    folder's code runs on both backends (usage.backlog_repository.DEFERS)."""
    with backlog_everywhere():
        yield
