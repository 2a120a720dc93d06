"""The admin lists' result count is one translatable plural, not a number glued to the
model's name (which read "9 提供商" in Chinese)."""
from __future__ import annotations

import re

import pytest

from providers import services

pytestmark = pytest.mark.django_db


def count_line(admin_client) -> str:
    page = admin_client.get("/admin/providers/provider/").content.decode()
    return re.search(r'<span class="result-count">(.*?)</span>', page, re.S).group(1).strip()


def test_the_count_is_singular_for_one_and_plural_otherwise(admin_client):
    services.provider_create(name="one", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    assert count_line(admin_client) == "1 provider"
    services.provider_create(name="two", provider_type="custom", base_url="http://127.0.0.1:9/v1")
    assert count_line(admin_client) == "2 providers"
