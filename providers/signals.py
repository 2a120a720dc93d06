"""Any change to providers or gateway keys, however it is made (services, admin
M2M edits, the ORM in a shell), bumps the shared configuration version: once per
transaction, together with the service's own bump (``config_version.bump``)."""
from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from . import config_version
from .models import GatewayKey, Provider


@receiver(post_save, sender=Provider)
@receiver(post_delete, sender=Provider)
@receiver(post_save, sender=GatewayKey)
@receiver(post_delete, sender=GatewayKey)
@receiver(m2m_changed, sender=GatewayKey.providers.through)
def _config_changed(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    if kwargs.get("update_fields") == frozenset({"last_used_at"}):
        return
    config_version.bump(using=kwargs.get("using") or DEFAULT_DB_ALIAS)
