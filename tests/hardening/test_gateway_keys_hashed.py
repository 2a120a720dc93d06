"""Gateway keys are stored only as SHA-256 hashes and looked up by hash: the
database never holds a raw key, and the hash itself is no credential."""
from __future__ import annotations

import hashlib

import pytest
from django.db import connection

from chat import gateway
from providers import routing, services
from providers.models import GatewayKey


def _whole_database_text() -> str:
    """Every row of every table, as text (binary columns too)."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        value = bytes(value).decode("latin-1")
                    parts.append(str(value))
    return "\n".join(parts)


@pytest.mark.django_db(transaction=True)
async def test_raw_key_is_never_stored_and_lookup_is_by_hash():
    from asgiref.sync import sync_to_async

    key, raw = await sync_to_async(services.gateway_key_create)(name="client-a")
    digest = hashlib.sha256(raw.encode()).hexdigest()
    assert key.key_hash == digest
    dump = await sync_to_async(_whole_database_text)()
    assert raw not in dump
    assert raw[len(key.prefix):] not in dump  # not even the part after the display prefix
    assert digest in dump

    snap, info = await gateway.authenticate(f"Bearer {raw}")
    assert set(snap.keys) == {digest}  # the in-memory table is keyed by hash only
    assert info.id == key.pk

    for wrong in (digest, raw[:-1], raw + "x", raw.upper(), key.prefix):
        with pytest.raises(gateway.GatewayError) as caught:
            await gateway.authenticate(f"Bearer {wrong}")
        assert caught.value.status == 401


@pytest.mark.django_db(transaction=True)
async def test_a_revoked_key_stops_working():
    from asgiref.sync import sync_to_async

    key, raw = await sync_to_async(services.gateway_key_create)(name="client-b")
    await gateway.authenticate(f"Bearer {raw}")
    await sync_to_async(services.gateway_key_revoke)(key=await GatewayKey.objects.aget(pk=key.pk))
    routing.invalidate_local()
    with pytest.raises(gateway.GatewayError):
        await gateway.authenticate(f"Bearer {raw}")
