"""Strings of Django, DRF and the admin that the project translates itself.

Django and DRF ship no (or awkward) Vietnamese and Chinese for these; listing them
here puts them in the project catalog (``makemessages`` reads this file), which
Django consults before the packages' own. Nothing calls ``_strings``.
"""
from __future__ import annotations

from django.utils.translation import gettext_noop, ngettext


def _strings() -> None:  # pragma: no cover - read by makemessages, never run
    gettext_noop("Show counts")  # admin list filters
    gettext_noop("Show all")  # admin pagination
    ngettext("Please correct the error below.", "Please correct the errors below.", 1)  # admin forms
    gettext_noop("Enter a valid JSON.")  # django.forms.JSONField
    gettext_noop("Auth Token")  # rest_framework.authtoken's app and models
    gettext_noop("Token")
    gettext_noop("Tokens")
    gettext_noop("Add %(name)s")  # admin changelist button
    gettext_noop("Action:")  # admin actions bar
    gettext_noop(" By %(filter_title)s ")  # admin filter headings (Django's msgid has the spaces)
    gettext_noop("Select %s to change")  # admin changelist title
