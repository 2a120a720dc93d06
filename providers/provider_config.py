"""``ProviderConfig``: a provider as the hot path sees it. A plain value at the
bottom of the package, so the routing table, the adapters and the upstream client
(below the adapters) can all use it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProviderConfig:
    """A provider as the hot path sees it: decrypted, with defaults applied. Never logged."""

    id: int
    name: str
    provider_type: str
    base_url: str
    api_key: str | None = field(repr=False)
    extra_headers: dict[str, str] = field(repr=False, default_factory=dict)
    settings: dict[str, Any] = field(repr=False, default_factory=dict)  # extra_query/env values are secrets
    enabled: bool = True
    created: int = 0

    def setting(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)
