"""What the tests of the audit trail read: an object's History, as the admin shows it."""
from __future__ import annotations

from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from providers import audit


def history(obj: Any) -> list[dict[str, Any]]:
    """(who, door, flag, message) of every entry of ``obj``, oldest first, in the active language."""
    ct = ContentType.objects.get_for_model(type(obj), for_concrete_model=False)
    entries = LogEntry.objects.filter(content_type=ct, object_id=str(obj.pk)).order_by("pk")
    return [{"who": audit.actor(e), "door": audit.door(e), "flag": e.action_flag, "message": audit.describe(e),
             "raw": e.change_message} for e in entries]


def staff(django_user_model: Any, username: str, *codenames: str) -> Any:
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username=username, password="a-long-password-789", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="providers", codename__in=codenames))
    return user
