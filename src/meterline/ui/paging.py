"""The dashboard's pages use the API's keyset pagination (kit.pagination): `cursor` and
`limit` come from the URL, so every page of a list is a link that can be shared."""

from meterline.kit.errors import InvalidParameter
from meterline.kit.pagination import MAX_LIMIT, PageRequest, decode_cursor

DEFAULT_LIMIT = 50


def page_of(cursor: str | None, limit: str | None = None, *, default: int = DEFAULT_LIMIT) -> PageRequest:
    """A PageRequest from URL text; 400 (InvalidParameter) for a bad cursor or limit."""
    size = default
    if limit:
        if not (limit.isascii() and limit.isdigit() and len(limit) <= 6) or not 1 <= int(limit) <= MAX_LIMIT:
            raise InvalidParameter(f"limit must be an integer from 1 to {MAX_LIMIT}", param="limit")
        size = int(limit)
    return PageRequest(limit=size, after_seq=decode_cursor(cursor) if cursor else 0)
