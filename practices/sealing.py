"""Keyed digests and sealed values: what anonymous flows must keep, useless without the server secret.

Anything that could join a person to what they sent anonymously (a check-in voter key, who is on each
side of a support conversation, where a relayed message goes) is stored only as a keyed digest or an
AEAD-sealed value under ``TEND_SECRET_KEY``, which is never written to the database. Someone holding
a dump, the database files or their dead rows, but not the key, learns nothing from these columns.
docs/privacy.md ("Threat model") says what the key's holder can learn.

Each use names its own ``purpose``: keys are derived per purpose, so a value sealed for one use can
never be opened or matched as another.

Key rotation: the secret passed around is a ``Keyring``, the current key (its bytes: what seals and
what digests are computed with) plus previous keys (``TEND_PREVIOUS_SECRET_KEYS``) that still open what
they sealed. ``python app.py rotate-key`` re-seals every stored value under the current key
(``reseal``). A keyed digest cannot be re-keyed without its inputs; ``digests`` gives a value's digest
under every key, for a duplicate check that must still match what an older key wrote.
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


class Keyring(bytes):
    """The current key (these bytes: it seals and digests) and previous keys that still open.

    A ``bytes`` subclass so every caller that takes the server secret as ``bytes`` gets rotation for
    free: ``unseal`` tries each key of a keyring in turn.
    """

    previous: tuple[bytes, ...]

    def __new__(cls, current: bytes, previous: tuple[bytes, ...] | list[bytes] = ()) -> Keyring:
        ring = super().__new__(cls, current)
        ring.previous = tuple(dict.fromkeys(key for key in previous if key != current))
        return ring

    @property
    def keys(self) -> tuple[bytes, ...]:
        """The current key first, then the previous ones, oldest last."""
        return (bytes(self), *self.previous)

    def __repr__(self) -> str:  # never the key itself
        return f"Keyring(current, {len(self.previous)} previous)"


def keys_of(secret: bytes) -> tuple[bytes, ...]:
    """Every key that may open a value: a keyring's all, a plain key itself."""
    return secret.keys if isinstance(secret, Keyring) else (secret,)


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


def digests(secret: bytes, purpose: str, *parts: object) -> tuple[str, ...]:
    """``digest`` under each key, current first: what a value was stored under before a rotation."""
    return tuple(digest(key, purpose, *parts) for key in keys_of(secret))


def seal(secret: bytes, purpose: str, value: str) -> str:
    """``value`` encrypted and authenticated (AES-GCM, random nonce): two seals of one value differ."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_derive(secret, purpose)).encrypt(nonce, value.encode("utf-8"), purpose.encode("utf-8"))
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")


def unseal(secret: bytes, purpose: str, token: str | None) -> str | None:
    """The sealed value, or None for anything not sealed by ``seal`` with this key (or, for a
    ``Keyring``, one of its keys) and purpose."""
    opened = open_with(secret, purpose, token)
    return opened[1] if opened is not None else None


def open_with(secret: bytes, purpose: str, token: str | None) -> tuple[int, str] | None:
    """(which key opened it: 0 the current one, 1 the first previous one, ...; the value), or None."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) <= NONCE_BYTES:
        return None
    for index, key in enumerate(keys_of(secret)):
        try:
            plain = AESGCM(_derive(key, purpose)).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode("utf-8")
            )
        except InvalidTag:
            continue
        return index, plain.decode("utf-8", errors="replace")
    return None


def reseal(secret: bytes, purpose: str, token: str | None) -> str | None:
    """``token`` sealed again under the current key when a previous key sealed it; None when the
    current key already opens it, or no key does (nothing to do, or nothing that can be done)."""
    opened = open_with(secret, purpose, token)
    if opened is None or opened[0] == 0:
        return None
    return seal(secret, purpose, opened[1])


def seal_id(secret: bytes, purpose: str, member_id: int) -> str:
    return seal(secret, purpose, str(member_id))


def unseal_id(secret: bytes, purpose: str, token: str | None) -> int | None:
    value = unseal(secret, purpose, token)
    return int(value) if value is not None and value.isdigit() else None
