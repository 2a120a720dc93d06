"""The provider catalog: one table of every provider type the gateway knows.

Model choices, the admin dropdown, API validation and routing all read this table.
Adding a type is one row here and one adapter module under ``providers/adapters``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from .adapters.base import Adapter

Transport = Literal["http", "subprocess"]
# The wire format the backend speaks. The connection test and the capability probe
# ask this, never a type's key: ``openai_chat`` backends get the full capability
# probe; the others (no OpenAI /models listing to rely on) a tiny real request.
Wire = Literal["openai_chat", "anthropic_messages", "openai_responses", "program"]


@dataclass(frozen=True)
class ProviderType:
    key: str
    label: Promise
    description: Promise
    adapter: str  # dotted path of the adapter class
    transport: Transport = "http"
    wire: Wire = "openai_chat"
    default_base_url: str = ""
    requires_base_url: bool = True
    accepts_api_key: bool = True
    requires_api_key: bool = False
    # Defaults merged under the provider's own settings.
    default_settings: dict[str, Any] = field(default_factory=dict)
    # Settings keys this type accepts beyond the common ones of its transport.
    extra_settings: tuple[str, ...] = ()

    @property
    def uses_base_url(self) -> bool:
        return self.transport == "http"


PROVIDER_TYPES: dict[str, ProviderType] = {
    t.key: t
    for t in (
        ProviderType(
            key="custom",
            label=_("Custom Provider"),
            description=_("Any endpoint that speaks OpenAI chat completions (vLLM, LM Studio, Ollama, LiteLLM, ...)."),
            adapter="providers.adapters.openai_compat.OpenAICompatAdapter",
            requires_base_url=True,
            requires_api_key=False,
            extra_settings=("reasoning_field", "normalize_chunks"),
        ),
        ProviderType(
            key="openai",
            label=_("OpenAI"),
            description=_("The OpenAI API."),
            adapter="providers.adapters.openai_compat.OpenAICompatAdapter",
            default_base_url="https://api.openai.com/v1",
            requires_base_url=False,
            requires_api_key=True,
            extra_settings=("reasoning_field", "normalize_chunks"),
        ),
        ProviderType(
            key="anthropic",
            label=_("Anthropic"),
            description=_("The Anthropic Messages API."),
            adapter="providers.adapters.anthropic.AnthropicAdapter",
            wire="anthropic_messages",
            default_base_url="https://api.anthropic.com/v1",
            requires_base_url=False,
            requires_api_key=True,
            default_settings={"anthropic_version": "2023-06-01", "default_max_tokens": 4096},
            extra_settings=("anthropic_version", "default_max_tokens"),
        ),
        ProviderType(
            key="dashscope",
            label=_("DashScope (Alibaba Cloud)"),
            description=_("Alibaba Cloud Model Studio in OpenAI-compatible mode."),
            adapter="providers.adapters.openai_compat.DashScopeAdapter",
            default_base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
            requires_base_url=False,
            requires_api_key=True,
            extra_settings=("reasoning_field", "normalize_chunks"),
        ),
        ProviderType(
            key="claude_cli",
            label=_("Claude Code CLI"),
            description=_("The Claude Code command-line program, run as a subprocess."),
            adapter="providers.adapters.claude_cli.ClaudeCliAdapter",
            transport="subprocess",
            wire="program",
            requires_base_url=False,
            requires_api_key=False,
            default_settings={"command": "claude", "models": ["sonnet", "opus", "haiku"]},
        ),
        ProviderType(
            key="acp",
            label=_("ACP agent"),
            description=_("Any Agent Client Protocol agent, spoken to over stdio."),
            adapter="providers.adapters.acp.AcpAdapter",
            transport="subprocess",
            wire="program",
            requires_base_url=False,
            requires_api_key=False,
            default_settings={"permission_policy": "deny"},
            extra_settings=("permission_policy",),
        ),
        ProviderType(
            key="codex",
            label=_("Codex (OpenAI Responses API)"),
            description=_("The OpenAI Responses API, as used by Codex and the ChatGPT backend."),
            adapter="providers.adapters.responses.ResponsesAdapter",
            wire="openai_responses",
            default_base_url="https://chatgpt.com/backend-api/codex",
            requires_base_url=False,
            requires_api_key=True,
            extra_settings=("account_id",),
        ),
    )
}


def type_choices() -> list[tuple[str, Promise]]:
    """Choices for the model field and forms, in catalog order."""
    return [(t.key, t.label) for t in PROVIDER_TYPES.values()]


def get_type(key: str) -> ProviderType:
    """The catalog row for ``key``; KeyError for an unknown type."""
    return PROVIDER_TYPES[key]


def type_keys() -> list[str]:
    return list(PROVIDER_TYPES)


@cache
def adapter_class(key: str) -> type[Adapter]:
    """Import the adapter of a type once, by dotted path (as Django does for hashers)."""
    return import_string(PROVIDER_TYPES[key].adapter)
