"""The provider form carries what each type takes: every type's settings keys with their
meaning as text (so the form works without JavaScript) and as JSON for the script that
shows only the chosen type's part, in the admin's language."""
from __future__ import annotations

import html
import json
import re

import pytest

from providers import catalog
from providers.provider_settings import checkers_for

pytestmark = pytest.mark.django_db


def guide_json(page: str) -> list[dict]:
    m = re.search(r'<script id="provider-type-guide" type="application/json">(.*?)</script>', page, re.S)
    assert m
    return json.loads(m.group(1))


def test_the_add_page_lists_every_type_and_the_keys_it_takes(admin_client):
    page = admin_client.get("/admin/providers/provider/add/").content.decode()
    assert 'src="/static/providers/provider_form.js"' in page
    guide = {t["type"]: t for t in guide_json(page)}
    assert list(guide) == catalog.type_keys()
    for key, ptype in catalog.PROVIDER_TYPES.items():
        assert [s["key"] for s in guide[key]["settings"]] == sorted(checkers_for(ptype))
        assert guide[key]["uses_base_url"] is ptype.uses_base_url
        assert f'<section class="type-guide-part" data-type="{key}">' in page
    acp = {s["key"]: s for s in guide["acp"]["settings"]}
    assert acp["permission_policy"]["default"] == '"deny"'
    assert "base_url" not in acp and "extra_query" not in acp and "env" in acp
    assert "env" not in {s["key"] for s in guide["custom"]["settings"]}
    # Every key has its meaning written out, as text in the page too.
    for t in guide.values():
        for s in t["settings"]:
            assert s["help"], (t["type"], s["key"])
    text = html.unescape(page)
    assert "<dt>first_byte_timeout</dt><dd>Seconds to wait for the first byte (long-thinking models need more).</dd>" in text


def test_the_guide_follows_the_admins_language(admin_client):
    admin_client.cookies["django_language"] = "vi"
    page = admin_client.get("/admin/providers/provider/add/").content.decode()
    custom = next(t for t in guide_json(page) if t["type"] == "custom")
    assert custom["label"] == "Nhà cung cấp tùy chỉnh"
