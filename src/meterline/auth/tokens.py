"""API keys and access tokens: pure functions, no I/O."""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt

from meterline.kit.auth import Principal
from meterline.kit.errors import Unauthorized
from meterline.kit.ids import is_id

ALGORITHM = "HS256"
ISSUER = "meterline"
KEY_PREFIX = "ml_"


@dataclass(frozen=True)
class NewKey:
    key_id: str
    api_key: str
    prefix: str
    key_hash: str


def hash_key(api_key: str) -> str:
    # Keys carry 256 random bits, so one SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(api_key.encode()).hexdigest()


def make_key(key_id: str) -> NewKey:
    api_key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return NewKey(key_id=key_id, api_key=api_key, prefix=api_key[:11], key_hash=hash_key(api_key))


def key_id_of(api_key: str) -> str | None:
    if not api_key.startswith(KEY_PREFIX):
        return None
    key_id, sep, rest = api_key[len(KEY_PREFIX) :].partition("_")
    return key_id if sep and rest and is_id(key_id) else None


def key_matches(api_key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(api_key), stored_hash)


def issue_token(*, secret: str, account_id: str, key_id: str, ttl_seconds: int) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": account_id,
        "accountId": account_id,
        "keyId": key_id,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, *, secret: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The access token has expired; log in again.") from None
    except jwt.PyJWTError:
        raise Unauthorized("The access token is invalid.") from None
    account_id, key_id = claims.get("accountId"), claims.get("keyId")
    if not isinstance(account_id, str) or not isinstance(key_id, str) or claims["sub"] != account_id:
        raise Unauthorized("The access token is invalid.")
    return Principal(account_id=account_id, key_id=key_id)
