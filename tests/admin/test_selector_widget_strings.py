"""The admin's JavaScript strings (the selector widget on the user page: "Choose all …",
"Remove selected …") are translated in vi and zh-hans: the project's djangojs catalogs
fill the gaps Django's own leave, and win over Django's where both have a string."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "expected"), [
    ("vi", {"Choose all %s": "Chọn tất cả %s", "Remove selected %s": "Bỏ các %s đang đánh dấu",
            "Chosen %s": "%s đã chọn", "Choose selected %s": "Chọn các %s đang đánh dấu"}),
    ("zh-hans", {"Choose all %s": "全选%s", "Remove selected %s": "移除所选的%s", "Remove all %s": "移除全部%s",
                 "Chosen %s": "选中的 %s"}),
])
def test_the_admin_javascript_catalog_translates_the_selector_widget(admin_client, language, expected):
    admin_client.cookies["django_language"] = language
    response = admin_client.get("/admin/jsi18n/")
    assert response.status_code == 200
    catalog = response.context["catalog"]
    for msgid, text in expected.items():
        assert catalog.get(msgid) == text, (msgid, catalog.get(msgid))
