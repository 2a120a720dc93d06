"""Small helpers shared by the onboarding tests."""
from __future__ import annotations

from typing import Any

from providers.models import Provider


def state() -> dict[str, dict[str, Any]]:
    """Every provider as a comparable dict, decrypted secrets included."""
    out = {}
    for p in Provider.objects.order_by("name"):
        out[p.name] = {
            "type": p.provider_type,
            "base_url": p.base_url,
            "settings": p.settings,
            "secret_settings": p.secret_settings,
            "enabled": p.enabled,
            "display_name_en": p.display_name_en or "",
            "display_name_vi": p.display_name_vi or "",
            "display_name_zh_hans": p.display_name_zh_hans or "",
            "api_key": p.api_key,
            "extra_headers": p.extra_headers,
        }
    return out
