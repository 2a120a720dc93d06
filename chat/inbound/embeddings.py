"""``POST /v1/embeddings``: passed through to providers whose adapter serves
embeddings (the OpenAI-compatible types), after the same key checks, model
resolution and rate limits as chat completions; tokens are counted against the
key's per-minute budget from the answer's ``usage``. Other types get a clear 400."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from providers.adapters.base import UpstreamError

from .. import limits
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


@common.openai_post_view("embeddings")
async def embeddings(request: HttpRequest) -> HttpResponse:
    routed = await common.route(request, _embeddings_body)
    if not routed.adapter.embeddings:
        raise GatewayError(
            400,
            _("The provider “%(name)s” (type %(type)s) does not offer embeddings.")
            % {"name": routed.config.name, "type": routed.config.provider_type},
            param="model", code="embeddings_unsupported",
        )
    try:
        payload = await routed.adapter.embed(routed.body)
    except UpstreamError:
        await limits.settle(routed.reservation, 0)  # refused upstream: nothing was used
        raise
    used = limits.usage_tokens(payload)
    await limits.settle(routed.reservation, used if used is not None else limits.estimate_tokens(len(payload)))
    return HttpResponse(common.native(routed, payload), content_type="application/json")
