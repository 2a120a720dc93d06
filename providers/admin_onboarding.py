"""Admin additions for onboarding (test connection, fetch models, playground).

``ProviderAdmin`` inherits ``ProviderOnboardingAdminMixin`` so this module can
grow its own URLs, actions and buttons without touching ``admin.py``.
"""
from __future__ import annotations


class ProviderOnboardingAdminMixin:
    pass
