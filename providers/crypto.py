"""Encryption at rest for provider secrets.

Built on django-cryptography's FernetBytes (AES-CBC + HMAC-SHA256), but keyed by
``GATEWAY_ENCRYPTION_KEY`` for both the cipher and the signature, so the secret
store does not depend on ``SECRET_KEY``. Old keys listed in
``GATEWAY_ENCRYPTION_OLD_KEYS`` stay readable while ``rotate_encryption_key`` runs.
A value that no configured key can authenticate raises ``DecryptionError``: a
wrong key fails loudly, it never returns garbage.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.conf import settings
from django.core.signing import BadSignature
from django.db import models
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes, InvalidToken

_SALT = b"llm-gateway/provider-secrets/v1"
_PREFIX = b"gw1:"  # format marker, so a later scheme can be told apart


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


@lru_cache(maxsize=16)
def _fernet(passphrase: str) -> FernetBytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=_SALT, iterations=200_000)
    key = kdf.derive(passphrase.encode())
    return FernetBytes(key=key, signer=FernetSigner(key=key))


def current_key() -> str:
    return settings.GATEWAY_ENCRYPTION_KEY


def readable_keys() -> list[str]:
    return [settings.GATEWAY_ENCRYPTION_KEY, *getattr(settings, "GATEWAY_ENCRYPTION_OLD_KEYS", [])]


def encrypt_bytes(plain: bytes, key: str | None = None) -> bytes:
    return _PREFIX + _fernet(key or current_key()).encrypt(plain)


def decrypt_bytes(token: bytes, keys: list[str] | None = None) -> tuple[bytes, int]:
    """Decrypt ``token``; return the plaintext and the index of the key that opened it."""
    if not token.startswith(_PREFIX):
        raise DecryptionError("stored secret has an unknown format")
    body = token[len(_PREFIX):]
    for index, key in enumerate(keys or readable_keys()):
        try:
            return _fernet(key).decrypt(body), index
        except (InvalidToken, BadSignature, ValueError):  # a wrong key fails the signature check
            continue
    raise DecryptionError(
        "A stored secret cannot be decrypted with GATEWAY_ENCRYPTION_KEY (or any key in "
        "GATEWAY_ENCRYPTION_OLD_KEYS). The key is wrong or was changed without rotate_encryption_key."
    )


class EncryptedJSONField(models.BinaryField):
    """Stores any JSON value encrypted; the raw column never holds the plaintext.

    Only ``isnull`` lookups make sense on ciphertext, so the field is not
    searchable or filterable by value, by construction.
    """

    description = "Encrypted JSON"
    # What the model attribute holds for type checkers (django-stubs reads these):
    # the decrypted JSON value, not the ciphertext bytes of a BinaryField.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        token = encrypt_bytes(json.dumps(value, separators=(",", ":")).encode())
        return super().get_db_prep_value(token, connection, prepared)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        plain, _index = decrypt_bytes(bytes(value))
        return json.loads(plain)

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: models.Model) -> str:
        # Never serialise the secret (dumpdata, admin history).
        return ""

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)
