"""Secret hashing in ERP.net's format, without Django: base64(sha256(utf8(secret)))."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _secrets
import string

HASH_LENGTH = 44
_B64_HASH = re.compile(r"^[A-Za-z0-9+/]{43}=\Z")
_HEX_HASH = re.compile(r"^[0-9a-fA-F]{64}\Z")
_ALPHABET = string.ascii_letters + string.digits


class SecretHashFormatError(ValueError):
    pass


def hash_secret(secret: str) -> str:
    return base64.b64encode(hashlib.sha256(secret.encode("utf-8")).digest()).decode("ascii")


def normalise_secret_hash(value: str) -> str:
    """A pasted hash as base64 (44 characters) or 64 hex digits, returned as base64."""
    text = (value or "").strip()
    if _B64_HASH.match(text):
        try:
            digest = base64.b64decode(text, validate=True)
        except binascii.Error:
            digest = b""
        if len(digest) == 32:
            # Re-encoded: "…C5=" decodes to the same bytes as "…C4=", but only the canonical
            # form can ever equal a computed hash.
            return base64.b64encode(digest).decode("ascii")
    if _HEX_HASH.match(text):
        return base64.b64encode(bytes.fromhex(text)).decode("ascii")
    raise SecretHashFormatError(
        "A secret hash is base64(sha256(secret)): 44 characters ending in '=', or 64 hex digits."
    )


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret).encode(), secret_hash.encode())


def generate_secret(length: int = 40) -> str:
    """A random secret from the OS CSPRNG, letters and digits only (safe in URLs and forms)."""
    return "".join(_secrets.choice(_ALPHABET) for _ in range(length))


def hash_secret_hex(secret: str) -> str:
    """The same hash as 64 hex digits (what `sha256sum` prints), also accepted by the admin."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
