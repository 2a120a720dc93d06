"""A backend's own stream relayed untranslated, for the inbound surfaces' native
passthroughs (issue 17: ``anthropic`` for /v1/messages, ``codex`` for /v1/responses)."""
from __future__ import annotations

from ..transport.client import Timeouts
from . import errors
from .base import Frames, ProviderConfig
from .http_common import streamed


async def relay_stream(config: ProviderConfig, url: str, data: bytes, *, headers: dict[str, str],
                       timeout: Timeouts) -> Frames:
    """The raw bytes of a streamed ``POST`` as they arrive. Closing early drops the
    connection, so the backend stops generating when the client goes away."""
    async with streamed(config, url, data, headers=headers, timeout=timeout) as answer:
        try:
            async for raw in answer.resp.iter_any():
                yield raw
        except Exception as exc:  # noqa: BLE001 -- every failure becomes an UpstreamError
            raise errors.from_transport(config.name, exc, mid_stream=True) from None
        answer.finished = True
