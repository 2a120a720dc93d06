"""A provider name no row can hold (NUL and other control characters, which
PostgreSQL refuses in text) is an unknown provider: a 400 field error, never a
500 from the database (found by the schema fuzz on PostgreSQL)."""
from __future__ import annotations

import pytest

from providers.models import GatewayKey


@pytest.mark.parametrize("name", ["lo\x00cal", "lo\ncal", "\x7f"])
def test_gateway_key_with_a_control_character_in_a_provider_name_is_a_field_error(admin_client, make_provider, name):
    make_provider(name="local", base_url="http://127.0.0.1:9/v1")
    answer = admin_client.post("/api/gateway-keys/", {"name": "ctl", "providers": ["local", name]},
                               content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert list(answer.json()) == ["providers"]
    assert not GatewayKey.objects.filter(name="ctl").exists()
