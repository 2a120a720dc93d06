"""Connection checks, base-URL help and the capability probe for providers.

Other gateways check one thing (a ``/models`` call), so a backend whose streams
break is found by users later. This module asks each question that actually
breaks OpenAI-compatible backends with one small request, and reports every
answer as a checklist item (ok / warn / fail) with a one-line explanation in the
active language and, where the gateway can compensate, a settings change that
staff can apply in one click.

The work is split by job: ``messages.py`` (the words), ``results.py`` (what is
found), ``upstream.py`` (HTTP plumbing), ``connection.py`` (the connection test),
``capabilities.py`` (the capability checks, a table of small functions). This
module is their one entry point for the admin, the REST API and the commands.

Everything here is synchronous (the one upstream client through its synchronous
entry, ``providers.transport.sync``), so the admin, the REST API and the
management command call it the same way. Results carry cause codes and
parameters; messages are rendered with ``gettext`` when asked for, so one result
can be shown in the language of whoever looks at it. Nothing here ever puts a
provider secret (API key, headers, query parameters, URL credentials) into a
message.
"""
from __future__ import annotations

from .capabilities import CAPABILITY_CHECKS, apply_suggestions, probe_config, probe_provider
from .connection import base_url_variants, check_config, check_connection, check_many, fetch_models, pick_model
from .messages import describe, item_label, status_label
from .results import ConnectionDict, ConnectionResult, ProbeItem, ProbeReport, Status, merge_settings
from .upstream import classify, display_url, upstream_detail

__all__ = [
    "CAPABILITY_CHECKS",
    "ConnectionDict",
    "ConnectionResult",
    "ProbeItem",
    "ProbeReport",
    "Status",
    "apply_suggestions",
    "base_url_variants",
    "check_config",
    "check_connection",
    "check_many",
    "classify",
    "describe",
    "display_url",
    "fetch_models",
    "item_label",
    "merge_settings",
    "pick_model",
    "probe_config",
    "probe_provider",
    "status_label",
    "upstream_detail",
]
