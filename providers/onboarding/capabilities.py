"""The capability probe: the questions that actually break OpenAI-compatible
backends, each asked with one small request and answered as a checklist item
(ok / warn / fail / skip) with, where the gateway can compensate, a settings
change staff can apply in one click.

The checks are a table (``CAPABILITY_CHECKS``) of small functions that share one
``ProbeRun``; a new check is one function and one row. Only ``openai_chat``
backends (the catalog's ``wire``) are probed."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import catalog
from ..adapters.base import ProviderConfig
from ..adapters.chunk_shaping import REASONING_FIELDS
from ..redact import redact_for
from ..transport.sync import SyncClient
from .connection import check_config, config_of, pick_model
from .results import ConnectionResult, ProbeItem, ProbeReport, merge_settings
from .upstream import StreamOutcome, check_client, check_timeout, stream_chat, upstream_detail

PROBE_MAX_TOKENS = 16
PROBE_MESSAGES = [{"role": "user", "content": "Say hello in one word."}]


def _mentions(body: str, word: str) -> bool:
    return word in body.lower()


TEST_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Return the current time in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def probe_config(config: ProviderConfig, *, timeout: float | None = None) -> ProbeReport:
    """Run the checklist against ``config``'s backend."""
    report = _probe_config(config, timeout=timeout)
    for item in report.items:
        item.params = {k: redact_for(v, config) if isinstance(v, str) else v for k, v in item.params.items()}
    return report


@dataclass
class ProbeRun:
    """What the checks of one probe share: the backend, the model, the client, and
    what earlier checks learnt (the token parameter that works, the answers seen)."""

    config: ProviderConfig
    client: SyncClient
    base: str
    model: str
    seconds: float
    token_param: str = "max_tokens"
    max_item: ProbeItem = field(default_factory=lambda: ProbeItem("max_tokens", "ok", "max_tokens_ok"))
    outcomes: list[StreamOutcome] = field(default_factory=list)
    stream_failed: bool = False

    @property
    def params(self) -> dict[str, Any]:
        return {"model": self.model}

    def chat(self, body: dict[str, Any]) -> StreamOutcome:
        return stream_chat(self.client, self.base, self.config, {"model": self.model, "stream": True, **body},
                           self.seconds)


def check_stream(run: ProbeRun) -> ProbeItem:
    """A streamed chat, with max_tokens (and max_completion_tokens if that is refused)."""
    first = run.chat({"messages": PROBE_MESSAGES, "max_tokens": PROBE_MAX_TOKENS})
    if first.status == 400 and (_mentions(first.body, "max_tokens") or _mentions(first.body, "max_completion_tokens")):
        retry = run.chat({"messages": PROBE_MESSAGES, "max_completion_tokens": PROBE_MAX_TOKENS})
        if retry.ok:
            run.token_param = "max_completion_tokens"
            # Renamed, not dropped: the client's cap on the answer must still hold.
            run.max_item = ProbeItem("max_tokens", "warn", "max_completion_tokens_rename", {},
                                     {"settings": {"rename_params": {"max_tokens": "max_completion_tokens"}}})
            first = retry
    params = run.params
    if first.ok and first.chunks:
        item = ProbeItem("stream", "ok" if (first.done or first.finished) else "warn",
                         "stream_ok" if (first.done or first.finished) else "stream_no_done",
                         {**params, "events": len(first.chunks)})
    elif first.ok and first.error is None:
        item = ProbeItem("stream", "fail", "stream_empty", params)
    elif first.status is not None and first.status >= 300:
        item = ProbeItem("stream", "fail", "stream_http",
                         {**params, "status": first.status, "detail": upstream_detail(first.body)})
    else:
        item = ProbeItem("stream", "fail", "stream_broken", {**params, "detail": first.error or ""})
    if item.status == "fail":
        run.stream_failed = True
    else:
        run.outcomes.append(first)
    return item


def check_stream_usage(run: ProbeRun) -> ProbeItem:
    """``stream_options.include_usage`` is honoured (a usage chunk at the end)."""
    usage = run.chat({"messages": PROBE_MESSAGES, run.token_param: PROBE_MAX_TOKENS,
                      "stream_options": {"include_usage": True}})
    if usage.ok:
        run.outcomes.append(usage)
        reported = [c["usage"] for c in usage.chunks if isinstance(c.get("usage"), dict)]
        if reported:
            total = reported[-1].get("total_tokens")
            return ProbeItem("stream_usage", "ok", "usage_ok", {"total": total if total is not None else "?"})
        return ProbeItem("stream_usage", "warn", "usage_missing")
    if usage.status is not None and 400 <= usage.status < 500:
        return ProbeItem("stream_usage", "warn", "usage_rejected", {"status": usage.status},
                         {"settings": {"drop_params": ["stream_options"]}})
    return ProbeItem("stream_usage", "warn", "stream_broken",
                     {**run.params, "detail": usage.error or upstream_detail(usage.body)})


def check_tool_index(run: ProbeRun) -> ProbeItem:
    """Streamed tool calls carry an index."""
    tools = run.chat({
        run.token_param: 64, "tools": [TEST_TOOL], "tool_choice": "auto",
        "messages": [{"role": "user", "content": "What time is it in Hanoi? Use the get_time tool."}],
    })
    if tools.ok:
        run.outcomes.append(tools)
        calls = [tc for d in tools.deltas() for tc in (d.get("tool_calls") or []) if isinstance(tc, dict)]
        if not calls:
            return ProbeItem("tool_index", "warn", "tools_not_called")
        if all(isinstance(tc.get("index"), int) for tc in calls):
            return ProbeItem("tool_index", "ok", "tools_ok")
        return ProbeItem("tool_index", "warn", "tools_no_index")
    if tools.status is not None and tools.status >= 300:
        return ProbeItem("tool_index", "warn", "tools_rejected", {"status": tools.status})
    return ProbeItem("tool_index", "warn", "stream_broken", {**run.params, "detail": tools.error or ""})


def check_reasoning(run: ProbeRun) -> ProbeItem:
    """The reasoning field's name, from every answer seen (no request of its own)."""
    fields = {k for o in run.outcomes for d in o.deltas() for k in REASONING_FIELDS if d.get(k)}
    renamed = run.config.setting("reasoning_field")
    if fields and renamed in REASONING_FIELDS:
        # What clients get: the gateway renames the other field to this one.
        return ProbeItem("reasoning", "ok", "reasoning_renamed", {"field": renamed})
    if "reasoning_content" in fields:
        return ProbeItem("reasoning", "ok", "reasoning_content")
    if "reasoning" in fields:
        return ProbeItem("reasoning", "warn", "reasoning_rename", {},
                         {"settings": {"reasoning_field": "reasoning_content"}})
    return ProbeItem("reasoning", "ok", "reasoning_none")


Check = Callable[[ProbeRun], ProbeItem]

# The checklist, in order. ``stream`` comes first: when it fails, the others are skipped.
CAPABILITY_CHECKS: tuple[tuple[str, Check], ...] = (
    ("stream", check_stream),
    ("stream_usage", check_stream_usage),
    ("tool_index", check_tool_index),
    ("reasoning", check_reasoning),
)
# Every item that follows the models item (max_tokens is decided by the stream check).
CHECKED_KEYS = (*(key for key, _check in CAPABILITY_CHECKS), "max_tokens")


def _probe_config(config: ProviderConfig, *, timeout: float | None = None) -> ProbeReport:
    connection = check_config(config, timeout=timeout)
    items: list[ProbeItem] = []
    if connection.suggested_base_url:
        items.append(ProbeItem("base_url", "warn", connection.cause, connection.params,
                               {"base_url": connection.suggested_base_url}))
    if catalog.get_type(config.provider_type).wire != "openai_chat":
        items.append(ProbeItem("models", "ok" if connection.ok else "fail", connection.cause, connection.params))
        items.append(ProbeItem("stream", "skip", "not_openai"))
        return ProbeReport(connection=connection, items=items)
    if not connection.reachable:
        items.append(ProbeItem("models", "fail", connection.cause, connection.params))
        items.extend(ProbeItem(key, "skip", "skipped_unreachable") for key in CHECKED_KEYS)
        return ProbeReport(connection=connection, items=items)
    if connection.models is not None:
        items.append(ProbeItem("models", "ok", "models_ok", {"count": len(connection.models)}))
    elif connection.cause == "unauthorized":
        items.append(ProbeItem("models", "fail", connection.cause, connection.params))
    else:
        items.append(ProbeItem("models", "warn", "models_missing"))

    model = pick_model(config, connection.models)
    if not model:
        items.extend(ProbeItem(key, "skip", "no_model") for key in CHECKED_KEYS)
        return ProbeReport(connection=connection, items=items)

    seconds = check_timeout(config, timeout)
    with check_client(config, seconds) as client:
        run = ProbeRun(config=config, client=client, base=connection.working_base_url or config.base_url,
                       model=model, seconds=seconds)
        for key, check in CAPABILITY_CHECKS:
            items.append(ProbeItem(key, "skip", "skipped_stream") if run.stream_failed else check(run))
    max_item = run.max_item
    if run.stream_failed and max_item.status == "ok":
        max_item = ProbeItem("max_tokens", "skip", "skipped_stream")
    items.append(max_item)
    return ProbeReport(connection=connection, items=items, model=model)


def probe_provider(provider: Any, *, timeout: float | None = None) -> ProbeReport:
    config = config_of(provider)
    if isinstance(config, ConnectionResult):
        return ProbeReport(connection=config, items=[ProbeItem("models", "fail", config.cause)])
    return probe_config(config, timeout=timeout)


def apply_suggestions(provider: Any, suggestion: dict[str, Any]) -> Any:
    """Merge a probe's suggested change into the provider, through the service layer."""
    from .. import audit
    from ..services import provider_update

    kwargs: dict[str, Any] = {}
    if isinstance(suggestion.get("settings"), dict) and suggestion["settings"]:
        kwargs["settings"] = merge_settings(provider.settings or {}, suggestion["settings"])
    if isinstance(suggestion.get("base_url"), str) and suggestion["base_url"]:
        kwargs["base_url"] = suggestion["base_url"]
    if not kwargs:
        return provider
    with audit.acting(door="probe-apply"):
        return provider_update(provider=provider, **kwargs)
