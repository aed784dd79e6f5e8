"""Ids: 24 lowercase hex characters, the shape Vayu's API documents."""

import os
import re
import time

ID_PATTERN = r"^[0-9a-fA-F]{24}$"
_ID_RE = re.compile(ID_PATTERN)


def new_id() -> str:
    # 4 bytes of seconds then 8 random bytes: roughly time-ordered, never guessable.
    return int(time.time()).to_bytes(4, "big").hex() + os.urandom(8).hex()


def is_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


def normalize_id(value: str) -> str:
    """Path ids are accepted in either case and stored lowercase."""
    return value.lower()
