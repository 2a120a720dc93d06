"""The words of the connection test and the capability probe: one line per cause
code, rendered in the active language when asked for (results keep codes and
parameters, so one result can be shown in the language of whoever looks at it)."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def describe(cause: str, params: dict[str, Any] | None = None) -> str:
    """The one-line explanation for ``cause`` in the active language."""
    p = dict(params or {})
    given = p.get("count")
    count = given if isinstance(given, int) else 0
    messages = {
        # connection check
        "ok": ngettext("Reachable in %(latency)s ms; the backend reports %(count)s model.",
                       "Reachable in %(latency)s ms; the backend reports %(count)s models.", count),
        "ok_no_models": _("Reachable in %(latency)s ms; the backend has no /models endpoint."),
        "dns": _("The host name “%(host)s” could not be resolved (DNS failure)."),
        "refused": _("Connection refused: nothing is listening on %(host)s port %(port)s."),
        "tls": _("The TLS handshake failed: wrong scheme (https to a plain HTTP server) or an untrusted certificate."),
        "timeout": _("The backend did not answer within %(seconds)s seconds."),
        "unauthorized": _("The backend refused the API key (HTTP %(status)s)."),
        "models_not_found": _("HTTP 404 on %(url)s: there is no /models endpoint at this base URL."),
        "http_error": _("The backend answered HTTP %(status)s: %(detail)s"),
        "http_error_bare": _("The backend answered HTTP %(status)s."),
        "ok_tiny_request": _("Reachable in %(latency)s ms: /models gave no list (HTTP %(status)s), but a one-word "
                             "request to %(model)s was answered."),
        "tiny_request_failed": _("/models gave no list (HTTP %(status)s), and a one-word request to %(model)s "
                                 "failed: %(detail)s"),
        "program_ok": _("“%(command)s” answered a one-word prompt to %(model)s in %(latency)s ms."),
        "program_failed": _("“%(command)s” started but did not answer a one-word prompt to %(model)s: %(detail)s"),
        "invalid_response": _("The answer of %(url)s is not a model list."),
        "unreachable": _("The backend could not be reached (%(detail)s)."),
        "too_large": _("The backend's answer is larger than the gateway accepts (%(limit)s bytes)."),
        "blocked": _("This address is not allowed: %(detail)s"),
        "no_base_url": _("The provider has no base URL."),
        "ca_bundle": _("The CA bundle %(path)s cannot be read or is not a certificate file."),
        "secret_error": _("The provider's stored secrets cannot be decrypted with the current encryption key."),
        "base_url_variant": _("The base URL as entered does not answer, but %(url)s does: use it instead."),
        "command_found": _("The command “%(command)s” was found at %(path)s."),
        "configured_models": _("The type “%(type)s” runs a program and makes no HTTP call to list models; it "
                               "lists the models configured in its settings."),
        "command_missing": _("The command “%(command)s” was not found on this server."),
        # capability probe
        "models_ok": ngettext("/models lists %(count)s model.", "/models lists %(count)s models.", count),
        "models_missing": _("There is no /models endpoint; set the model list in the provider's settings."),
        "no_model": _("No model to test with: set a default model or fetch the model list first."),
        "not_openai": _("The capability probe applies to OpenAI-compatible providers only."),
        "skipped_unreachable": _("Skipped: the backend is not reachable."),
        "skipped_stream": _("Skipped: a streamed chat does not work."),
        "stream_ok": _("A streamed chat with %(model)s worked: %(events)s events, ended properly."),
        "stream_no_done": _("The stream of %(model)s ended without [DONE] or a finish reason;"
                            " the gateway closes it for clients."),
        "stream_http": _("A streamed chat with %(model)s failed with HTTP %(status)s: %(detail)s"),
        "stream_broken": _("A streamed chat with %(model)s failed: %(detail)s"),
        "stream_empty": _("A streamed chat with %(model)s sent no chunks."),
        "usage_ok": _("stream_options.include_usage is accepted and usage is reported (%(total)s tokens)."),
        "usage_missing": _("stream_options.include_usage is accepted but no usage is reported."),
        "usage_rejected": _("The backend rejects stream_options (HTTP %(status)s); drop it from requests."),
        "tools_ok": _("Streamed tool calls carry an index."),
        "tools_no_index": _("Streamed tool calls have no index; clients such as the OpenAI SDK cannot assemble them."),
        "tools_not_called": _("The model did not call the test tool, so tool call streaming could not be checked."),
        "tools_rejected": _("The backend rejected a request with tools (HTTP %(status)s)."),
        "reasoning_content": _("Reasoning is sent as reasoning_content."),
        "reasoning": _("Reasoning is sent as reasoning (not reasoning_content);"
                       " clients that read reasoning_content will not show it."),
        "reasoning_rename": _("Reasoning is sent as reasoning (not reasoning_content); clients that read "
                              "reasoning_content will not show it. The gateway can rename it to reasoning_content."),
        "reasoning_renamed": _("Reasoning reaches clients as %(field)s (the gateway renames the other field)."),
        "reasoning_none": _("No reasoning field was seen (the model may not reason)."),
        "max_tokens_ok": _("max_tokens is accepted."),
        "max_completion_tokens": _("The backend rejects max_tokens and wants max_completion_tokens;"
                                   " drop max_tokens from requests."),
        "max_completion_tokens_rename": _("The backend rejects max_tokens and wants max_completion_tokens; the "
                                          "gateway can rename max_tokens to max_completion_tokens in requests."),
        "error": _("The check failed: %(detail)s"),
    }
    if cause == "http_error" and not p.get("detail"):
        cause = "http_error_bare"
    template = messages.get(cause, messages["error"])
    p.setdefault("detail", cause)
    try:
        return template % p
    except (KeyError, TypeError, ValueError):
        return template


def item_label(key: str) -> str:
    labels = {
        "base_url": _("Base URL"),
        "models": _("/models endpoint"),
        "stream": _("Streamed chat"),
        "stream_usage": _("stream_options.include_usage"),
        "tool_index": _("Tool call index in streams"),
        "reasoning": _("Reasoning field"),
        "max_tokens": _("max_tokens or max_completion_tokens"),
    }
    return labels.get(key, key)


def status_label(status: str) -> str:
    return {"ok": _("OK"), "warn": _("Warning"), "fail": _("Failed"), "skip": _("Skipped")}.get(status, status)
