"""How an audit entry reads on the History page (providers/audit.py)."""
from __future__ import annotations

from django import template
from django.contrib.admin.models import LogEntry

from providers import audit

register = template.Library()


@register.filter
def audit_actor(entry: LogEntry) -> str:
    return audit.actor(entry)


@register.filter
def audit_door(entry: LogEntry) -> str:
    return audit.door(entry)


@register.filter
def audit_message(entry: LogEntry) -> str:
    return audit.describe(entry)
