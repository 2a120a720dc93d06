"""What a connection test and a capability probe find: results with cause codes
and parameters (``messages.describe`` renders them), and the settings changes
staff can apply in one click."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from .messages import describe, item_label

Status = Literal["ok", "warn", "fail", "skip"]


class ConnectionDict(TypedDict):
    ok: bool
    reachable: bool
    latency_ms: int | None
    model_count: int | None
    models: list[str]
    cause: str
    status: int | None
    message: str
    suggested_base_url: str | None


@dataclass
class ConnectionResult:
    ok: bool
    reachable: bool
    cause: str
    params: dict[str, Any] = field(default_factory=dict)
    latency_ms: int | None = None
    models: list[str] | None = None
    status: int | None = None
    suggested_base_url: str | None = None
    working_base_url: str | None = None  # where /models answered (typed URL or variant)

    @property
    def model_count(self) -> int | None:
        return None if self.models is None else len(self.models)

    def message(self) -> str:
        return describe(self.cause, self.params)

    def as_dict(self) -> ConnectionDict:
        return {
            "ok": self.ok,
            "reachable": self.reachable,
            "latency_ms": self.latency_ms,
            "model_count": self.model_count,
            "models": list(self.models or []),
            "cause": self.cause,
            "status": self.status,
            "message": self.message(),
            "suggested_base_url": self.suggested_base_url,
        }


@dataclass
class ProbeItem:
    key: str
    status: Status
    cause: str
    params: dict[str, Any] = field(default_factory=dict)
    suggestion: dict[str, Any] | None = None  # {"settings": {...}} and/or {"base_url": "..."}

    def message(self) -> str:
        return describe(self.cause, self.params)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": item_label(self.key),
            "status": self.status,
            "cause": self.cause,
            "message": self.message(),
            "suggestion": self.suggestion,
        }


@dataclass
class ProbeReport:
    connection: ConnectionResult
    items: list[ProbeItem]
    model: str | None = None

    def suggestions(self) -> dict[str, Any]:
        """Every item's suggestion merged into one change."""
        merged: dict[str, Any] = {}
        for item in self.items:
            if item.suggestion:
                merged = merge_suggestion(merged, item.suggestion)
        return merged

    def as_dict(self) -> dict[str, Any]:
        return {
            "connection": self.connection.as_dict(),
            "model": self.model,
            "items": [i.as_dict() for i in self.items],
            "suggestions": self.suggestions(),
        }


def merge_settings(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """Settings with ``change`` merged in: lists are united (order kept), objects merged."""
    out = dict(current or {})
    for key, value in change.items():
        old = out.get(key)
        if isinstance(value, list) and isinstance(old, list):
            out[key] = old + [v for v in value if v not in old]
        elif isinstance(value, dict) and isinstance(old, dict):
            out[key] = {**old, **value}
        else:
            out[key] = value
    return out


def merge_suggestion(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    if "settings" in b:
        out["settings"] = merge_settings(out.get("settings", {}), b["settings"])
    if "base_url" in b:
        out["base_url"] = b["base_url"]
    return out
