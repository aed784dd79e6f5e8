"""RSA signing as Vayu signs webhooks: RSASSA-PKCS1-v1_5 with SHA-256 over `timestamp.body`.

Pure functions (no storage). Private keys are only ever handled as PEM text in memory;
nothing here logs.
"""

import base64
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_BITS = 2048
SIGNATURE_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class KeyPair:
    public_pem: str
    private_pem: str

    def __repr__(self) -> str:  # never show the private key (logs, tracebacks)
        return "KeyPair(public_pem=..., private_pem=<hidden>)"


def generate_key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(public_pem=public_pem, private_pem=private_pem)


def signed_message(timestamp: int, body: bytes) -> bytes:
    return str(timestamp).encode() + b"." + body


@lru_cache(maxsize=256)
def _private_key(private_pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def sign(private_pem: str, timestamp: int, body: bytes) -> str:
    """Base64 of the RSASSA-PKCS1-v1_5 SHA-256 signature of `timestamp + "." + body`."""
    key = _private_key(private_pem)
    signature = key.sign(signed_message(timestamp, body), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def headers(private_pem: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Timestamp": str(timestamp),
        "X-Signature": sign(private_pem, timestamp, body),
        "X-Signature-Version": SIGNATURE_VERSION,
    }
