"""Login and every 401 case of SEMANTICS.md, in the seed's shape, on both backends."""

import base64
import json
import time

import jwt
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from meterline.auth import service as auth_service
from meterline.db.engine import Database, transaction
from meterline.db.tables.core import accounts
from tests.conftest import Account, login, make_account

SECRET = "test-secret-" + "x" * 32
AUTH_ERROR = {"type": "authentication_error", "code": "authentication_failed"}


def _assert_401(resp: object) -> None:
    assert resp.status_code == 401, resp.text  # type: ignore[attr-defined]
    body = resp.json()  # type: ignore[attr-defined]
    assert {k: body[k] for k in ("type", "code")} == AUTH_ERROR
    assert isinstance(body["message"], str) and body["message"]


def test_login_issues_a_one_hour_jwt(client: TestClient, account: Account) -> None:
    token = login(client, account.api_key)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["accountId"] == account.account_id
    assert claims["keyId"] == account.key_id
    assert claims["exp"] - claims["iat"] == 3600
    assert client.get("/customers", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize("key", ["", "nope", "ml_0123456789abcdef01234567_wrong"])
def test_login_with_a_bad_key_is_401(client: TestClient, key: str) -> None:
    resp = client.post("/login", json={"refreshToken": key})
    if key == "":
        assert resp.status_code == 400
    else:
        _assert_401(resp)


def test_login_with_a_tampered_key_is_401(client: TestClient, account: Account) -> None:
    _assert_401(client.post("/login", json={"refreshToken": account.api_key[:-2] + "zz"}))


def _token(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {"iss": "meterline", "iat": now, "exp": now + 3600}
    claims.update(overrides)
    return claims


def test_every_bad_token_is_401(client: TestClient, account: Account) -> None:
    base = _token(sub=account.account_id, accountId=account.account_id, keyId=account.key_id)
    good = jwt.encode(base, SECRET, algorithm="HS256")
    assert client.get("/customers", headers={"Authorization": f"Bearer {good}"}).status_code == 200

    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(base).encode()).rstrip(b"=")
    alg_none = (header + b"." + payload + b".").decode()
    cases = {
        "missing": {},
        "not bearer": {"Authorization": f"Basic {good}"},
        "empty bearer": {"Authorization": "Bearer "},
        "malformed": {"Authorization": "Bearer not.a.jwt"},
        "expired": {"Authorization": "Bearer " + jwt.encode({**base, "exp": int(time.time()) - 10}, SECRET)},
        "wrong signature": {"Authorization": "Bearer " + jwt.encode(base, "another-secret-" + "y" * 32)},
        "alg none": {"Authorization": f"Bearer {alg_none}"},
        "HS512": {"Authorization": "Bearer " + jwt.encode(base, SECRET, algorithm="HS512")},
        "no exp": {"Authorization": "Bearer " + jwt.encode({k: v for k, v in base.items() if k != "exp"}, SECRET)},
        "sub mismatch": {"Authorization": "Bearer " + jwt.encode({**base, "sub": "0" * 24}, SECRET)},
    }
    for name, headers in cases.items():
        resp = client.get("/customers", headers=headers)
        assert resp.status_code == 401, name
        _assert_401(resp)


def test_revoked_key_tokens_stop_working_within_seconds(client: TestClient, account: Account, db: Database) -> None:
    token = login(client, account.api_key)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/customers", headers=headers).status_code == 200
    with transaction(db) as conn:
        auth_service.revoke_key(conn, key_id=account.key_id)
    deadline = time.monotonic() + 5
    status = 200
    while time.monotonic() < deadline:
        status = client.get("/customers", headers=headers).status_code
        if status == 401:
            break
        time.sleep(0.1)
    assert status == 401
    _assert_401(client.get("/customers", headers=headers))
    _assert_401(client.post("/login", json={"refreshToken": account.api_key}))


def test_keys_are_stored_hashed(db: Database, account: Account) -> None:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT prefix, key_hash FROM api_keys").all()
    assert rows and all(account.api_key not in (p, h) for p, h in rows)
    assert all(not account.api_key.startswith(h) for _, h in rows)


def _bearer(account_id: str, key_id: str) -> dict[str, str]:
    claims = _token(sub=account_id, accountId=account_id, keyId=key_id)
    return {"Authorization": "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")}


def test_a_token_whose_key_belongs_to_another_account_is_401(client: TestClient, db: Database) -> None:
    """Signed with the real secret (defence in depth): account A's id with B's key is refused."""
    a, b = make_account(db, "a"), make_account(db, "b")
    assert client.get("/customers", headers=_bearer(a.account_id, a.key_id)).status_code == 200
    _assert_401(client.get("/customers", headers=_bearer(a.account_id, b.key_id)))
    _assert_401(client.get("/customers", headers=_bearer(b.account_id, a.key_id)))
    # the cached key status is per (key, account): B's own token still passes
    assert client.get("/customers", headers=_bearer(b.account_id, b.key_id)).status_code == 200


def test_a_token_of_an_account_that_does_not_exist_is_401(client: TestClient, db: Database) -> None:
    ghost = make_account(db, "ghost")
    with transaction(db) as conn:
        conn.execute(sa.delete(accounts).where(accounts.c.id == ghost.account_id))
    _assert_401(client.get("/customers", headers=_bearer(ghost.account_id, ghost.key_id)))
    _assert_401(client.get("/customers", headers=_bearer("0" * 24, ghost.key_id)))
    _assert_401(client.get("/customers", headers=_bearer("0" * 24, "1" * 24)))  # no such key either
