"""The bytes rewrite that gives answers the model id the client used: every real
``"model"`` member, whatever its spacing or escapes, and nothing inside strings;
a native stream's member cut between two reads is rewritten all the same."""
from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from chat.gateway import model_rewriter
from chat.inbound.common import relay_native

REQUESTED = 'local/meta-llama/x "q" \\ é'


def test_every_real_member_is_rewritten_and_text_is_untouched():
    rewrite = model_rewriter(REQUESTED)
    frame = {"id": "c1", "model": "x", "choices": [{"delta": {"content": 'say "model":"x" please'}}]}
    nested = {"type": "message_start", "message": {"model": "claude-3", "content": []}}
    data = (b"data: " + json.dumps(frame).encode() + b"\n\n" + b"event: message_start\ndata: "
            + json.dumps(nested, separators=(",", ":")).encode() + b"\n\n")
    out = rewrite(data).split(b"\n\n")
    first = json.loads(out[0][6:])
    assert first["model"] == REQUESTED
    assert first["choices"][0]["delta"]["content"] == 'say "model":"x" please'
    assert json.loads(out[1].split(b"data: ")[1])["message"]["model"] == REQUESTED


def test_an_escaped_upstream_name_is_replaced_whole():
    rewrite = model_rewriter("p/m")
    assert json.loads(rewrite(b'{"model" : "a\\"b\\\\", "n": 1}')) == {"model": "p/m", "n": 1}


@pytest.mark.parametrize("cut", range(1, 60))
def test_a_native_stream_member_cut_between_reads_is_rewritten(cut):
    data = b'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-3"}}\n\n'

    async def rest():
        yield data[cut:]

    async def run() -> bytes:
        routed = SimpleNamespace(config=SimpleNamespace(name="p"), requested="p/claude-3-requested", record=None,
                                 reservation=None)
        return b"".join([c async for c in relay_native(data[:cut], rest(), routed, lambda exc: b"")])

    out = asyncio.run(run())
    assert out == data.replace(b'"model":"claude-3"', b'"model":"p/claude-3-requested"')
