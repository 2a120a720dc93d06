"""Property tests: the SSE decoder gives the same events however the byte stream
is split, and model ids split at the first slash only."""
from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from chat.gateway import split_model
from providers.transport.sse import SSEDecoder

LINE_TEXT = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30)
EVENT = st.fixed_dictionaries(
    {
        "data": st.lists(LINE_TEXT, min_size=1, max_size=4),
        "event": st.none() | LINE_TEXT.filter(bool),
        "id": st.none() | st.text(alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
                                  min_size=1, max_size=10),
        "comment": st.none() | LINE_TEXT,
        "nospace": st.booleans(),
    }
)


def encode(events: list[dict], newline: bytes) -> tuple[bytes, list[tuple[bytes, str | None, str | None]]]:
    """The wire form of ``events`` and what a decoder must produce from it."""
    out = bytearray()
    expected = []
    last_id = None
    for ev in events:
        if ev["comment"] is not None:
            out += b":" + ev["comment"].encode() + newline
        if ev["event"] is not None:
            out += b"event: " + ev["event"].encode() + newline
        if ev["id"] is not None:
            out += b"id: " + ev["id"].encode() + newline
            last_id = ev["id"]
        for line in ev["data"]:
            # Without the space only when the value does not itself start with one.
            prefix = b"data:" if ev["nospace"] and not line.startswith(" ") else b"data: "
            out += prefix + line.encode() + newline
        out += newline
        expected.append(("\n".join(ev["data"]).encode(), ev["event"], last_id))
    return bytes(out), expected


def decode(stream: bytes, cuts: list[int]) -> list[tuple[bytes, str | None, str | None]]:
    decoder = SSEDecoder()
    events = []
    points = [0, *sorted(set(c % (len(stream) + 1) for c in cuts)), len(stream)]
    for start, end in itertools.pairwise(points):
        events.extend(decoder.feed(stream[start:end]))
    events.extend(decoder.flush())
    return [(e.data, e.event, e.id) for e in events]


@settings(max_examples=300, derandomize=True)
@given(
    events=st.lists(EVENT, max_size=6),
    newline=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_any_split_of_an_event_stream_decodes_to_the_same_events(events, newline, cuts):
    stream, expected = encode(events, newline)
    assert decode(stream, cuts) == expected
    # Byte by byte, the hardest split of all.
    assert decode(stream, list(range(len(stream)))) == expected


@settings(max_examples=200, derandomize=True)
@given(events=st.lists(EVENT, min_size=1, max_size=4), newline=st.sampled_from([b"\n", b"\r\n"]),
       cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8))
def test_a_stream_cut_before_its_last_blank_line_still_yields_the_last_event(events, newline, cuts):
    stream, expected = encode(events, newline)
    truncated = stream[: -len(newline)]
    assert decode(truncated, cuts) == expected


@settings(max_examples=200, derandomize=True)
@given(junk=st.binary(max_size=200), cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_arbitrary_bytes_never_crash_the_decoder_and_splits_agree(junk, cuts):
    assert decode(junk, cuts) == decode(junk, [])


PROVIDER = st.text(alphabet=st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=300, derandomize=True)
@given(provider=PROVIDER, upstream=st.text(max_size=40))
def test_model_ids_split_at_the_first_slash_only(provider, upstream):
    assert split_model(f"{provider}/{upstream}") == (provider, upstream)


@settings(max_examples=200, derandomize=True)
@given(name=PROVIDER)
def test_a_model_id_without_slash_is_a_provider_name(name):
    assert split_model(name) == (name, "")


@settings(max_examples=200, derandomize=True)
@given(parts=st.lists(st.text(max_size=15), min_size=2, max_size=5))
def test_splitting_and_joining_a_model_id_round_trips(parts):
    model = "/".join(parts)
    provider, upstream = split_model(model)
    assert "/" not in provider
    assert f"{provider}/{upstream}" == model
