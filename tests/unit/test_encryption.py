"""Provider secrets are encrypted at rest with GATEWAY_ENCRYPTION_KEY; a wrong key fails loudly."""
from __future__ import annotations

import io

import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from providers import services
from providers.crypto import DecryptionError, decrypt_bytes, encrypt_bytes
from providers.models import Provider

API_KEY = "sk-plaintext-must-not-be-stored-7Q2x"
HEADER_VALUE = "org-header-secret-5Zt9"

pytestmark = pytest.mark.django_db


def make() -> Provider:
    return services.provider_create(
        name="enc", provider_type="custom", base_url="http://127.0.0.1:9/v1",
        api_key=API_KEY, extra_headers={"X-Org": HEADER_VALUE},
    )


def raw_columns(pk: int) -> tuple[bytes, bytes]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key, extra_headers FROM providers_provider WHERE id = %s", [pk])
        key, headers = cursor.fetchone()
    return bytes(key), bytes(headers)


def test_raw_columns_hold_ciphertext_not_the_secrets():
    provider = make()
    key_column, header_column = raw_columns(provider.pk)
    for column in (key_column, header_column):
        assert column.startswith(b"gw1:")
        for secret in (API_KEY, HEADER_VALUE, API_KEY[-8:], "X-Org"):
            assert secret.encode() not in column
            assert secret.encode().hex().encode() not in column
    # Reading through the model gives the plaintext back.
    again = Provider.objects.get(pk=provider.pk)
    assert again.api_key == API_KEY
    assert again.extra_headers == {"X-Org": HEADER_VALUE}
    assert again.api_key_hint == API_KEY[-4:]


def test_the_same_secret_encrypts_differently_each_time():
    assert encrypt_bytes(b"same") != encrypt_bytes(b"same")


def test_a_wrong_encryption_key_raises_instead_of_returning_garbage():
    provider = make()
    with override_settings(GATEWAY_ENCRYPTION_KEY="a-different-key-entirely", GATEWAY_ENCRYPTION_OLD_KEYS=[]):
        with pytest.raises(DecryptionError) as info:
            Provider.objects.get(pk=provider.pk)
    assert API_KEY not in str(info.value)
    # The right key still opens it.
    assert Provider.objects.get(pk=provider.pk).api_key == API_KEY


def test_an_old_key_stays_readable_during_rotation(settings):
    old = settings.GATEWAY_ENCRYPTION_KEY
    provider = make()
    with override_settings(GATEWAY_ENCRYPTION_KEY="the-new-key", GATEWAY_ENCRYPTION_OLD_KEYS=[old]):
        assert Provider.objects.get(pk=provider.pk).api_key == API_KEY


def test_tampered_ciphertext_raises():
    token = encrypt_bytes(b'"secret"')
    tampered = token[:-5] + bytes([token[-5] ^ 1]) + token[-4:]
    with pytest.raises(DecryptionError):
        decrypt_bytes(tampered)
    with pytest.raises(DecryptionError):
        decrypt_bytes(b"plaintext without the format marker")


def test_secrets_are_not_filterable_and_not_serialised():
    make()
    assert Provider.objects.filter(api_key__isnull=False).count() == 1
    with pytest.raises(FieldError):
        Provider.objects.filter(api_key=API_KEY).count()
    out = io.StringIO()
    call_command("dumpdata", "providers.provider", stdout=out)
    assert API_KEY not in out.getvalue() and HEADER_VALUE not in out.getvalue()
