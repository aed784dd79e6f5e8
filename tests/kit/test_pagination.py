import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterline.kit.errors import InvalidParameter
from meterline.kit.pagination import decode_cursor, encode_cursor, make_page


@given(st.integers(min_value=0, max_value=2**62))
def test_cursor_round_trip(seq: int) -> None:
    assert decode_cursor(encode_cursor(seq)) == seq


@pytest.mark.parametrize("bad", ["", "abc", "@@@", encode_cursor(5)[:-1] + "!", "YzI6MTA"])
def test_foreign_cursors_are_400(bad: str) -> None:
    with pytest.raises(InvalidParameter):
        decode_cursor(bad)


def test_page_body() -> None:
    rows = [(i, {"i": i}) for i in range(1, 5)]
    page = make_page(rows, limit=3, total=4).body("items")
    assert page["items"] == [{"i": 1}, {"i": 2}, {"i": 3}] and page["hasMore"] is True
    assert decode_cursor(page["nextCursor"]) == 3
    last = make_page(rows[3:], limit=3, total=4).body("items")
    assert last == {"items": [{"i": 4}], "total": 4, "hasMore": False}
