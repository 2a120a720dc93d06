"""``POST /v1/embeddings``: passed through to providers whose adapter serves
embeddings (the OpenAI-compatible types), after the same key checks, model
resolution, rate limits, concurrency cap and retries as chat completions; tokens
are counted against the key's per-minute budget from the answer's ``usage``. A
route's targets are tried in turn before the answer (``chat.fallback``, as for
chat completions); every one must offer embeddings. Other types get a clear 400."""
from __future__ import annotations

from django.utils.translation import gettext as _

from .. import fallback, gateway
from ..gateway import GatewayError
from . import common


def _embeddings_body(raw: bytes) -> dict:
    body = common.parse_object(raw)
    value = body.get("input")
    if value is None or value == "" or value == []:
        raise GatewayError(400, _("“input” is required."), param="input", code="missing_input")
    if not isinstance(value, (str, list)):
        raise GatewayError(400, _("“input” must be a string or an array."), param="input", code="invalid_type")
    return body


async def _embed(attempt: gateway.Prepared) -> bytes:
    """One attempt (``chat.fallback``: a route's targets in turn), under the provider's
    concurrency cap and retries; the answer's usage settles the key's token
    reservation (chat/limits.py GuardedAdapter)."""
    adapter = attempt.adapter
    if not adapter.embeddings:
        # The gateway's refusal, not a backend's failure: no other target is tried.
        raise GatewayError(
            400,
            _("The provider “%(name)s” (type %(type)s) does not offer embeddings.")
            % {"name": attempt.config.name, "type": attempt.config.provider_type},
            param="model", code="embeddings_unsupported",
        )
    return await adapter.embed(attempt.body)


@common.openai_surface
async def serve_embeddings(incoming: common.Incoming) -> common.Answer:
    prepared = await common.route(incoming, _embeddings_body)
    return common.Answer(200, common.native(prepared, await fallback.complete(prepared, _embed)))


embeddings = common.django_view(serve_embeddings, "embeddings")
