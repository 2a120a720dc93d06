"""Gateway key material: the prefix, a new key, its hash. Pure functions with no
database access, so the /v1 hot path can hash a presented key without importing
the write module (``services.py``)."""
from __future__ import annotations

import hashlib
import secrets
from typing import NamedTuple

GATEWAY_KEY_PREFIX = "gwk_"


def hash_gateway_key(raw: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is safe here (no dictionary to attack),
    # and it lets the hot path look a key up in O(1).
    return hashlib.sha256(raw.encode()).hexdigest()


class KeyMaterial(NamedTuple):
    raw: str  # shown once, never stored
    prefix: str  # stored, to recognise the key in lists
    key_hash: str  # stored, what requests are matched against


def new_key_material() -> KeyMaterial:
    raw = GATEWAY_KEY_PREFIX + secrets.token_urlsafe(32)
    return KeyMaterial(raw=raw, prefix=raw[: len(GATEWAY_KEY_PREFIX) + 6], key_hash=hash_gateway_key(raw))
