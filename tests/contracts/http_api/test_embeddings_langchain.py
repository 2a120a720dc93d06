"""LangChain's ``OpenAIEmbeddings`` (langchain-openai), the way RAG pipelines use
it, through the live gateway to a ``custom`` provider: documents and queries,
sync and async, with the gateway key; the backend sees the strings the pipeline
embedded (``check_embedding_ctx_length=False``, the setting for non-OpenAI
backends: otherwise LangChain tokenizes with tiktoken's OpenAI encodings)."""
from __future__ import annotations

import asyncio

import langchain_openai
import openai
import pytest


@pytest.fixture
def embedder(live_gateway, gateway_key, make_provider, upstream):
    make_provider(name="local", base_url=upstream.base_url)
    return langchain_openai.OpenAIEmbeddings(
        model="local/bge-m3", base_url=f"{live_gateway.url}/v1", api_key=gateway_key,
        check_embedding_ctx_length=False, max_retries=0, timeout=20,
    )


def test_documents_and_query(embedder, upstream):
    vectors = embedder.embed_documents(["hello world", "xin chào", "你好"])
    assert vectors == [[0.0, 11.0, 0.5], [1.0, 8.0, 0.5], [2.0, 2.0, 0.5]]
    assert embedder.embed_query("abc") == [0.0, 3.0, 0.5]
    seen = [r for r in upstream.requests if r.path == "/v1/embeddings"]
    assert [r.body["input"] for r in seen] == [["hello world", "xin chào", "你好"], ["abc"]]
    assert {r.body["model"] for r in seen} == {"bge-m3"}


def test_async_documents(embedder):
    assert asyncio.run(embedder.aembed_documents(["one", "three"])) == [[0.0, 3.0, 0.5], [1.0, 5.0, 0.5]]


def test_a_wrong_key_is_refused(live_gateway, make_provider, upstream):
    make_provider(name="local", base_url=upstream.base_url)
    bad = langchain_openai.OpenAIEmbeddings(model="local/bge-m3", base_url=f"{live_gateway.url}/v1",
                                            api_key="gwk_wrong", check_embedding_ctx_length=False, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.embed_query("abc")
    assert upstream.requests == []
