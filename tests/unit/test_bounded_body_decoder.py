"""The answer-body decoder (providers/transport/decode.py): gzip, deflate zlib-wrapped
and raw, multi-member gzip decoded whole; a corrupt or truncated body is an error;
the decoded size is bounded per step, whatever the compressed body inflates to."""
from __future__ import annotations

import gzip
import zlib

import pytest

from providers.transport.decode import STEP, decoder_for
from providers.transport.errors import ProtocolError

BODY = b'{"choices": [{"message": {"content": "' + b"hello " * 5000 + b'"}}]}'


def decode_all(encoding: str, data: bytes, split: int = 7) -> bytes:
    decoder = decoder_for(encoding)
    assert decoder is not None
    out = []
    for i in range(0, len(data), split):
        out.append(decoder.decode(data[i:i + split]))
        while decoder.pending:
            out.append(decoder.decode(b""))
    decoder.finish()
    return b"".join(out)


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(("encoding", "data"), [
    ("gzip", gzip.compress(BODY)),
    ("x-gzip", gzip.compress(BODY)),
    ("deflate", zlib.compress(BODY)),
    ("deflate", raw_deflate(BODY)),
    ("gzip", gzip.compress(BODY[:100]) + gzip.compress(BODY[100:2000]) + gzip.compress(BODY[2000:])),
])
@pytest.mark.parametrize("split", [1, 7, 4096, 1 << 20])
def test_every_encoding_decodes_to_the_whole_body(encoding, data, split):
    assert decode_all(encoding, data, split) == BODY


@pytest.mark.parametrize("data", [
    gzip.compress(BODY)[:-20],  # truncated
    bytes(b ^ 0x5A if 20 <= i < 60 else b for i, b in enumerate(gzip.compress(BODY))),  # corrupt
    b"not gzip at all",
])
def test_a_corrupt_or_truncated_body_is_an_error_never_a_short_answer(data):
    with pytest.raises(ProtocolError):
        decode_all("gzip", data)


def test_an_unasked_encoding_is_an_error_and_identity_needs_no_decoder():
    with pytest.raises(ProtocolError):
        decoder_for("br")
    assert decoder_for(None) is None and decoder_for("identity") is None


def test_a_bomb_inflates_one_bounded_step_at_a_time():
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)  # 64 MiB from ~64 KiB
    decoder = decoder_for("gzip")
    assert decoder is not None
    out = decoder.decode(bomb)
    assert len(out) <= STEP and decoder.pending
    out = decoder.decode(b"", 1000)
    assert len(out) <= 1000
