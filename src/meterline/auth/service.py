"""Accounts, API keys (the Vayu 'refresh token'), login, revocation."""

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from meterline.auth import repository as repo
from meterline.auth import tokens
from meterline.db.engine import Database, write_options
from meterline.kit.errors import NotFound, Unauthorized
from meterline.kit.ids import new_id
from meterline.kit.times import iso_us, now_us


@dataclass(frozen=True)
class CreatedAccount:
    account_id: str
    key_id: str
    api_key: str


def create_key(conn: sa.Connection, *, account_id: str) -> tokens.NewKey:
    if not repo.account_exists(conn, account_id):
        raise NotFound(f"No account with id {account_id}.")
    key = tokens.make_key(new_id())
    repo.insert_key(
        conn, key_id=key.key_id, account_id=account_id, prefix=key.prefix, key_hash=key.key_hash, now=now_us()
    )
    return key


def create_account(conn: sa.Connection, *, name: str) -> CreatedAccount:
    account_id = new_id()
    repo.insert_account(conn, account_id=account_id, name=name, now=now_us())
    key = create_key(conn, account_id=account_id)
    return CreatedAccount(account_id=account_id, key_id=key.key_id, api_key=key.api_key)


def list_keys(conn: sa.Connection, *, account_id: str) -> list[dict[str, Any]]:
    if not repo.account_exists(conn, account_id):
        raise NotFound(f"No account with id {account_id}.")
    return [
        {
            "keyId": k["id"],
            "prefix": k["prefix"],
            "createdAt": iso_us(k["created_at"]),
            "revokedAt": iso_us(k["revoked_at"]) if k["revoked_at"] else None,
        }
        for k in repo.list_keys(conn, account_id)
    ]


def revoke_key(conn: sa.Connection, *, key_id: str) -> None:
    if repo.get_key(conn, key_id) is None:
        raise NotFound(f"No API key with id {key_id}.")
    repo.revoke_key(conn, key_id, now_us())


def login(conn: sa.Connection, *, refresh_token: str, secret: str, ttl_seconds: int) -> str:
    key_id = tokens.key_id_of(refresh_token)
    row = repo.get_key(conn, key_id) if key_id else None
    if row is None or row["revoked_at"] is not None or not tokens.key_matches(refresh_token, row["key_hash"]):
        raise Unauthorized("Invalid refresh token.")
    return tokens.issue_token(secret=secret, account_id=row["account_id"], key_id=row["id"], ttl_seconds=ttl_seconds)


def ensure_jwt_secret(db: Database, configured: str | None) -> str:
    """The configured secret, else one generated once and kept in the database."""
    if configured:
        return configured
    with db.engine.connect() as conn:
        conn = conn.execution_options(**write_options(db))
        with conn.begin():
            repo.put_setting_if_absent(conn, "jwt_secret", secrets.token_urlsafe(48))
            secret = repo.get_setting(conn, "jwt_secret")
    assert secret is not None
    return secret


class KeyStatusCache:
    """Whether a token's key is still good for its account, re-read every `ttl` seconds.

    Caches key id -> (owning account id, active): a key is active while it exists, is not
    revoked and its account exists. A token passes only if its key is active AND belongs
    to the token's account (defence in depth: forging a mismatched token needs the signing
    secret). This bounds how long a revoked key's tokens keep working (default 2 s)
    without a database read on every request.
    """

    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._seen: dict[str, tuple[str | None, bool, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, key_id: str, account_id: str) -> bool:
        now = time.monotonic()
        hit = self._seen.get(key_id)
        if hit is None or now - hit[2] >= self._ttl:
            with self._db.engine.connect() as conn:
                row = repo.get_key_status(conn, key_id)
            owner = row["account_id"] if row is not None else None
            active = row is not None and row["revoked_at"] is None and row["account_exists"]
            hit = (owner, active, now)
            with self._lock:
                if len(self._seen) > 100_000:
                    self._seen.clear()
                self._seen[key_id] = hit
        return hit[1] and hit[0] == account_id
