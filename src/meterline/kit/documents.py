"""Rows that store a Vayu object as a JSON document (`doc`) beside its id and timestamps."""

from typing import Any

from meterline.kit.times import iso_us


def doc_wire(row: dict[str, Any], *, deleted: bool = False) -> dict[str, Any]:
    """The stored document with `id`, `createdAt`, `updatedAt` (and `deletedAt` for a
    delete's answer), as customers, meters, catalog products, plans and custom fields
    answer."""
    out = dict(row["doc"])
    out["id"] = row["id"]
    out["createdAt"] = iso_us(row["created_at"])
    out["updatedAt"] = iso_us(row["updated_at"])
    if deleted and row.get("deleted_at") is not None:
        out["deletedAt"] = iso_us(row["deleted_at"])
    return out
