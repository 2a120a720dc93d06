"""Serializers that refuse fields they do not know.

DRF ignores unknown keys in a request body, so a misspelt or misplaced field
(``"setings"``, or ``"headers"`` where the API says ``extra_headers``) returned
201 and was silently lost. Every /api/ serializer inherits this mixin: an unknown
key is a 400 field error under its own name, listing the valid ones. Read-only
fields count as known (and stay ignored), so a body read with GET can be sent back.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework import serializers


class StrictFieldsMixin:
    fields: Any  # provided by the serializer this mixin is combined with
    # Fields of what GET returns that this (write) serializer lacks: known, and ignored.
    read_only_elsewhere: tuple[str, ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        known = set(self.fields) | set(self.read_only_elsewhere)
        unknown = sorted(set(data) - known) if isinstance(data, Mapping) else []
        if isinstance(data, QueryDict):  # the browsable API's HTML form also posts its CSRF token
            unknown = [name for name in unknown if name != "csrfmiddlewaretoken"]
        if not unknown:
            if isinstance(data, Mapping) and self.read_only_elsewhere:
                data = {k: v for k, v in data.items() if k not in self.read_only_elsewhere}
            return super().to_internal_value(data)  # type: ignore[misc]
        valid = ", ".join(sorted(name for name, f in self.fields.items() if not f.read_only))
        errors: dict[str, Any] = {}
        try:
            super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:  # report the other fields' errors at once too
            if isinstance(exc.detail, Mapping):
                errors.update(exc.detail)
        for name in unknown:
            errors[str(name)] = [_("Unknown field. Valid fields: %(valid)s.") % {"valid": valid}]
        raise serializers.ValidationError(errors)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass


class NameSlugField(serializers.SlugRelatedField):
    """A related object named by its ``slug_field``. A name no row can hold (NUL and
    other control characters, which PostgreSQL refuses in text) is "does not exist"
    like any unknown name, instead of reaching the database as a query."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and any(ord(ch) < 32 or ch == "\x7f" for ch in data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.encode("unicode_escape").decode())
        return super().to_internal_value(data)
