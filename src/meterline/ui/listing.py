"""The dashboard's lists: the API's cursor pagination, read from the page's URL."""

from meterline.kit.pagination import PageRequest, decode_cursor

PAGE_SIZE = 25


def page_of(cursor: str | None, *, limit: int = PAGE_SIZE) -> PageRequest:
    """A PageRequest from `?cursor=` (a nextCursor the API issued; 400 page otherwise)."""
    return PageRequest(limit=limit, after_seq=decode_cursor(cursor) if cursor else 0)
