"""Checks that the catalog products named by product lines exist in the account."""

from typing import Any

import sqlalchemy as sa

from meterline.catalog import repository as catalog_repo
from meterline.contracts.lines import catalog_product_refs
from meterline.kit.errors import NotFound


def check_catalog_products(conn: sa.Connection, account_id: str, doc: dict[str, Any]) -> None:
    """Lowercases every catalogProductId in doc; an unknown one is 404 with param naming the line."""
    for line in doc.get("products") or []:
        if line.get("catalogProductId"):
            line["catalogProductId"] = str(line["catalogProductId"]).lower()
    for group in doc.get("productGroups") or []:
        for line in group.get("products") or []:
            if line.get("catalogProductId"):
                line["catalogProductId"] = str(line["catalogProductId"]).lower()
    refs = catalog_product_refs(doc.get("products") or [], doc.get("productGroups") or [])
    found = catalog_repo.get_many(conn, account_id, [pid for _, pid in refs])
    for param, pid in refs:
        if pid not in found:
            raise NotFound(f"Catalog product {pid} not found.", param=param)
