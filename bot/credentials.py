"""Platform credentials at rest: sealed under ``TEND_SECRET_KEY`` before they reach the database.

A stored credential (a Slack bot token, refresh token or user token) is written as ``PREFIX`` followed
by an AES-GCM seal (``practices.sealing``) whose purpose names the kind of credential and the
workspace it belongs to, so a sealed token copied onto another workspace's row does not open. The
database, its dumps and backups hold no usable token without the key, which is never stored there.

Adapters call these (they may not import ``practices.sealing`` themselves). A value without the prefix
is a token written before Tend sealed credentials: it is read as it is, and sealed at the next start
(``adapters.slack.oauth.SlackOAuth.use_key``).
"""

from __future__ import annotations

from practices.sealing import Keyring, open_with, seal

PREFIX = "tend-sealed:"  # Slack tokens start with xox, so a plain token never looks sealed


class CredentialKeyMissing(RuntimeError):
    """A credential was about to be stored or read with no server secret configured."""


def credential_purpose(kind: str, *owner: str | None) -> str:
    """The sealing purpose of one credential: its kind and whose it is (e.g. enterprise and team)."""
    return "credential/" + kind + "/" + "/".join(part or "-" for part in owner)


def is_sealed(stored: str | None) -> bool:
    return bool(stored) and str(stored).startswith(PREFIX)


def seal_credential(secret: bytes | None, purpose: str, value: str | None) -> str | None:
    """``value`` sealed for storage; None stays None, and a value already sealed is kept as it is."""
    if value is None or is_sealed(value):
        return value
    if secret is None:
        raise CredentialKeyMissing("TEND_SECRET_KEY is needed to store a platform credential")
    return PREFIX + seal(secret, purpose, value)


def open_credential(secret: bytes | None, purpose: str, stored: str | None) -> str | None:
    """The credential as the platform issued it; a plain (legacy) value as it is; None when no
    configured key opens it (sealed under a key Tend no longer has)."""
    if stored is None or not is_sealed(stored):
        return stored
    if secret is None:
        raise CredentialKeyMissing("TEND_SECRET_KEY is needed to read a platform credential")
    opened = open_with(secret, purpose, stored[len(PREFIX) :])
    return opened[1] if opened is not None else None


def reseal_credential(secret: bytes, purpose: str, stored: str | None) -> tuple[str, str | None]:
    """What a rotation does with one stored credential: ("sealed", new value) for a plain one,
    ("resealed", new value) for one a previous key sealed, ("current", None) when the current key
    already opens it, ("unreadable", None) when no key does (left as it is)."""
    if stored is None:
        return "current", None
    if not is_sealed(stored):
        return "sealed", seal_credential(secret, purpose, stored)
    opened = open_with(secret, purpose, stored[len(PREFIX) :])
    if opened is None:
        return "unreadable", None
    if opened[0] == 0:
        return "current", None
    return "resealed", PREFIX + seal(secret, purpose, opened[1])


__all__ = [
    "PREFIX",
    "CredentialKeyMissing",
    "Keyring",
    "credential_purpose",
    "is_sealed",
    "open_credential",
    "reseal_credential",
    "seal_credential",
]
