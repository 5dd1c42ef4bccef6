"""Keyed digests and sealed values: what anonymous flows must keep, useless without the server secret.

Anything that could join a person to what they sent anonymously (a check-in voter key, who is on each
side of a support conversation, where a relayed message goes) is stored only as a keyed digest or an
AEAD-sealed value under ``TEND_SECRET_KEY``, which is never written to the database. Someone holding
a dump, the database files or their dead rows, but not the key, learns nothing from these columns.
docs/privacy.md ("Threat model") says what the key's holder can learn.

Each use names its own ``purpose``: keys are derived per purpose, so a value sealed for one use can
never be opened or matched as another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MIN_SECRET_LENGTH = 32  # characters of TEND_SECRET_KEY; 32 random base64 characters carry 192 bits
NONCE_BYTES = 12

# Tests and embedders that build an engine without a key share this one per process, so whatever one
# part seals another can open. app.py always passes the configured (or the console's stored) key.
PROCESS_KEY = secrets.token_bytes(32)


def key_from_text(text: str) -> bytes:
    """The bytes of ``TEND_SECRET_KEY`` (any printable string of at least 32 characters)."""
    return text.encode("utf-8")


def new_key_text() -> str:
    """A fresh key, in the form ``openssl rand -base64 32`` prints."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _derive(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, b"tend/" + purpose.encode("utf-8"), hashlib.sha256).digest()


def digest(secret: bytes, purpose: str, *parts: object) -> str:
    """A stable keyed digest of ``parts`` (32 hex characters): equal inputs match, nothing else shows."""
    message = "\x1f".join(str(part) for part in parts).encode("utf-8")
    return hmac.new(_derive(secret, purpose), message, hashlib.sha256).hexdigest()[:32]


def seal(secret: bytes, purpose: str, value: str) -> str:
    """``value`` encrypted and authenticated (AES-GCM, random nonce): two seals of one value differ."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_derive(secret, purpose)).encrypt(nonce, value.encode("utf-8"), purpose.encode("utf-8"))
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")


def unseal(secret: bytes, purpose: str, token: str | None) -> str | None:
    """The sealed value, or None for anything not sealed by ``seal`` with this key and purpose."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) <= NONCE_BYTES:
        return None
    try:
        plain = AESGCM(_derive(secret, purpose)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode("utf-8")
        )
    except InvalidTag:
        return None
    return plain.decode("utf-8", errors="replace")


def seal_id(secret: bytes, purpose: str, member_id: int) -> str:
    return seal(secret, purpose, str(member_id))


def unseal_id(secret: bytes, purpose: str, token: str | None) -> int | None:
    value = unseal(secret, purpose, token)
    return int(value) if value is not None and value.isdigit() else None
