"""Keyset pagination: `limit` 1..1000 (default 10), an opaque `cursor`, creation order.

Every listed table has an integer `seq` that grows with creation; the cursor encodes
the last seq served, so concurrent inserts never shift a page (nothing skipped or
repeated, unlike offsets).
"""

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query

from meterline.kit.errors import InvalidParameter

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    after_seq: int


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"c1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, _, num = raw.partition(":")
        if tag != "c1" or not num.isdigit():
            raise ValueError(cursor)
        return int(num)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidParameter("cursor is not a cursor this server issued", param="cursor") from None


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="1..1000, default 10")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="opaque; nextCursor of the previous page")] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after_seq=decode_cursor(cursor) if cursor else 0)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    next_seq: int | None  # seq of the last item served when more follow

    def body(self, key: str) -> dict[str, Any]:
        out: dict[str, Any] = {key: self.items, "total": self.total, "hasMore": self.next_seq is not None}
        if self.next_seq is not None:
            out["nextCursor"] = encode_cursor(self.next_seq)
        return out


def make_page(rows: list[tuple[int, dict[str, Any]]], *, limit: int, total: int) -> Page:
    """rows: (seq, item) pairs, at most limit + 1 of them, in seq order."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[item for _, item in rows], total=total, next_seq=rows[-1][0] if more else None)
