"""Fixtures of the usage tests."""
from __future__ import annotations

from typing import Any

import pytest

from tests.audit.helpers import staff
from tests.usage.rows import scripted


@pytest.fixture
def viewer(client: Any, django_user_model: Any) -> Any:
    """The test client, logged in as staff who may read the request log (and nothing of
    the providers), over the known rows of ``rows.scripted``."""
    from django.contrib.auth.models import Permission

    user = staff(django_user_model, "ops")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="chat", codename="view_requestlog"))
    client.force_login(user)
    scripted()
    return client
