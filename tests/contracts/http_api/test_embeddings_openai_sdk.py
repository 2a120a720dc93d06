"""The ``openai`` SDK's ``embeddings.create`` through the live gateway to a
``custom`` provider (the loopback fake's /embeddings): relayed as the backend
answered, key checks and errors as for chat, and a 400 for a type without embeddings."""
from __future__ import annotations

import openai
import pytest

from tests.contracts.http_api.helpers import sdk_client


@pytest.fixture
def client(live_gateway, gateway_key):
    with sdk_client(live_gateway, gateway_key, timeout=20) as sdk:
        yield sdk


def test_embeddings_pass_through(client, local, upstream):
    result = client.embeddings.create(model="local/bge-m3", input=["hello world", "xin chào"],
                                      encoding_format="float")
    assert [d.embedding for d in result.data] == [[0.0, 11.0, 0.5], [1.0, 8.0, 0.5]]
    assert result.usage.total_tokens == 4 and result.model == "local/bge-m3"  # the id the client used
    seen = upstream.last()
    assert seen.path == "/v1/embeddings"
    assert seen.body == {"model": "bge-m3", "input": ["hello world", "xin chào"], "encoding_format": "float"}


def test_sdk_default_base64_is_decoded_by_the_sdk(client, local):
    result = client.embeddings.create(model="local/bge-m3", input="abc")
    assert result.data[0].embedding == [0.0, 3.0, 0.5]


def test_token_arrays_pass_through(client, local, upstream):
    # What tiktoken-based clients (LangChain's default for OpenAI) send: token ids, not text.
    result = client.embeddings.create(model="local/bge-m3", input=[[9906, 1917], [87, 88, 89]],
                                      encoding_format="float")
    assert [d.embedding for d in result.data] == [[0.0, 2.0, 0.5], [1.0, 3.0, 0.5]]
    assert upstream.last().body["input"] == [[9906, 1917], [87, 88, 89]]


def test_errors(client, local, live_gateway, make_provider, anthropic_upstream):
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="nowhere/x", input="a")
    with pytest.raises(openai.RateLimitError):
        client.embeddings.create(model="local/status-429", input="a")
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="local/bge-m3", input=[])
    assert info.value.param == "input"
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url, api_key="k")
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="claude/text", input="a")
    assert info.value.code == "embeddings_unsupported"
    bad = openai.OpenAI(base_url=f"{live_gateway.url}/v1", api_key="gwk_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.embeddings.create(model="local/bge-m3", input="a")
