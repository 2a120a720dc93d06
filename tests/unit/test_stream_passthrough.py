"""The relay passes an upstream read on untouched only when decoding and
re-framing it would give the same bytes: whole ``data: {...}`` frames, nothing
that could be an error event, ``[DONE]``, a comment, another field or ``\\r``."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from providers.adapters.openai_compat import _frames, passes_through
from providers.transport.sse import SSEDecoder

PIECES = st.sampled_from(
    [b"data: ", b"data:", b"{", b"}", b'"a":1', b"\n", b"\n\n", b"\r", b'"error"', b'"choices"', b": c",
     b"event: e", b"[DONE]", b" ", b"id: 1", b"x"]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(PIECES, max_size=14))
def test_a_passed_through_read_is_what_reframing_would_produce(parts: list[bytes]) -> None:
    chunk = b"".join(parts)
    if passes_through(chunk):
        decoder = SSEDecoder()
        out, done, error = _frames("p", decoder.feed(chunk))
        assert (out, done, error) == (chunk, False, None)
        assert decoder.pristine


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                        max_size=20), min_size=1, max_size=5))
def test_plain_frames_pass_through(contents: list[str]) -> None:
    chunk = b"".join(b'data: {"c":' + repr(c).encode("utf-8", "surrogatepass") + b"}\n\n" for c in contents)
    if b'"error"' not in chunk:
        assert passes_through(chunk)


def test_anything_else_is_decoded() -> None:
    for chunk in [
        b"data: [DONE]\n\n",
        b'data:{"a":1}\n\n',
        b'data: {"a":1}\r\n\r\n',
        b'data: {"a":1}\n',
        b'data: {"a":1}\n\n\n\ndata: {"b":2}\n\n',
        b'data: {"a":1}\n\n: keep-alive\n\ndata: {"b":2}\n\n',
        b'data: {"a":1}\ndata: {"b":2}\n\n',
        b'event: error\ndata: {"a":1}\n\n',
        b'data: {"error":{"message":"no"}}\n\n',
        b'data: {"a":1}\n\ndata: {"error":{"message":"no"}}\n\n',
    ]:
        assert not passes_through(chunk), chunk


def test_a_pending_event_is_not_pristine() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"event: error\n")
    assert not decoder.pristine
    decoder = SSEDecoder()
    decoder.feed(b'data: {"a"')
    assert not decoder.pristine
