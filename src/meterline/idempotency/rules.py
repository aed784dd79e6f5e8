"""Idempotency keys: which keys are acceptable, and what counts as "the same request". No I/O.

The rule follows the IETF draft "The Idempotency-Key HTTP Header Field" and Stripe's
practice: a key names one request (method, path with query, body) for 24 hours.
"""

import hashlib
import re

from meterline.kit import jsonenc
from meterline.kit.errors import BadRequest

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
TTL_US = 24 * 3600 * 1_000_000

_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


def check_key(key: str) -> str:
    """The key itself if it is 1-255 printable ASCII characters (inner spaces allowed, no
    surrounding ones), else BadRequest (400 parameter_invalid, param Idempotency-Key)."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise BadRequest(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            code="parameter_invalid",
            param=HEADER,
        )
    return key


def request_hash(method: str, target: str, body: bytes) -> str:
    """sha256 hex of method, path (with query) and the body; a JSON body is canonicalised
    (keys sorted, decimals in plain notation) so that key order and spacing do not matter."""
    try:
        canonical = jsonenc.canonical(jsonenc.loads(body)) if body.strip() else b""
    except (jsonenc.JSONDecodeError, TypeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), target.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()
