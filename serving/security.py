"""API keys: generation, hashing at rest, verification.

A key looks like `cc_<8 hex prefix>_<43 url-safe chars>`; 256 bits of randomness, so a plain
SHA-256 digest is the right at-rest form (as for GitHub tokens): a slow KDF buys nothing against
brute force of a random key, and costs latency on every request. Only the prefix and the digest
are stored; the key itself is shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "cc_"
HASH_SCHEME = "sha256"


def generate_key() -> tuple[str, str]:
    """A new `(key, prefix)`."""
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, key_prefix(key)


def key_prefix(key: str) -> str:
    """The lookup prefix of a key (its first 11 characters: `cc_` + 8 hex)."""
    return key[: len(KEY_PREFIX) + 8]


def hash_key(key: str) -> str:
    return f"{HASH_SCHEME}${hashlib.sha256(key.encode('utf-8')).hexdigest()}"


def verify_key(key: str, stored: str) -> bool:
    scheme, _, digest = stored.partition("$")
    if scheme != HASH_SCHEME or not digest:
        return False
    candidate = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return hmac.compare_digest(candidate, digest)
