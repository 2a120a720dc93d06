"""The admin header carries a language switcher (Django's set_language); the choice sticks."""
from __future__ import annotations

import pytest
from django.utils.translation import get_language_info

pytestmark = pytest.mark.django_db


def test_login_page_has_the_switcher(client):
    html = client.get("/admin/login/").content.decode()
    assert 'id="language-switcher"' in html and 'action="/i18n/setlang/"' in html
    for code in ("en", "vi", "zh-hans"):
        # Each language is offered under its own name (Django's LANG_INFO), e.g. “Tiếng Việt”, “简体中文”.
        assert f'<option value="{code}" lang="{code}"' in html
        assert get_language_info(code)["name_local"] in html


@pytest.mark.parametrize(("language", "title"), [
    ("vi", "Quản trị LLM gateway"), ("zh-hans", "LLM 网关管理"), ("en", "LLM gateway administration"),
])
def test_switching_language_changes_the_admin(admin_client, language, title):
    response = admin_client.post("/i18n/setlang/", {"language": language, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    page = admin_client.get("/admin/providers/provider/add/")
    html = page.content.decode()
    assert f'<html lang="{language}"' in html
    assert title in html
    assert f'<option value="{language}" lang="{language}" selected>' in html
