"""Every /v1 request leaves one request log row, whatever its outcome, through
both doors (the raw ASGI fast path and Django's own handler): success, client
error, upstream error (before and during a stream), refusal by a limit, and a
client that leaves mid-stream. Run against SQLite by default and against
PostgreSQL with DATABASE_URL set (the same assertions)."""
from __future__ import annotations

import socket

import httpx
import pytest

from tests.contracts.http_api.helpers import open_stream, read_until
from tests.requestlog.helpers import MESSAGES, chat, one_row, post


def test_a_success_is_recorded_with_key_provider_and_models(door, gateway_key):
    resp = chat(door, gateway_key, "local/text")
    assert resp.status_code == 200
    row = one_row()
    assert (row.surface, row.method, row.path, row.status, row.outcome) == (
        "chat", "POST", "/v1/chat/completions", 200, "ok")
    assert (row.key_name, row.provider_name, row.provider_type) == ("test-client", "local", "custom")
    assert (row.requested_model, row.upstream_model, row.stream) == ("local/text", "text", False)
    assert row.error_code == "" and row.bytes_out == len(resp.content) and row.bytes_in > 0
    assert row.client_ip == "127.0.0.1"
    assert row.latency_ms >= row.ttft_ms >= 0


def test_a_stream_is_recorded_with_its_bytes(door, gateway_key):
    resp = chat(door, gateway_key, "local/text", stream=True)
    assert resp.status_code == 200
    row = one_row()
    assert (row.stream, row.status, row.outcome, row.bytes_out) == (True, 200, "ok", len(resp.content))
    assert row.ttft_ms is not None


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [("nowhere/text", 404, "model_not_found"), ("", 400, "missing_model")],
)
def test_a_client_error_is_recorded(door, gateway_key, model, status, code):
    assert chat(door, gateway_key, model).status_code == status
    row = one_row()
    assert (row.status, row.outcome, row.error_code, row.key_name) == (status, "client_error", code, "test-client")


def test_a_malformed_body_is_recorded(door, gateway_key):
    resp = httpx.post(f"{door}/v1/chat/completions", content=b"{not json", timeout=20,
                      headers={"Authorization": f"Bearer {gateway_key}"})
    assert resp.status_code == 400
    row = one_row()
    assert (row.outcome, row.error_code, row.bytes_in) == ("client_error", "invalid_json", 9)


def test_a_stranger_is_recorded_without_a_key(door):
    assert chat(door, "gwk_wrong", "local/text").status_code == 401
    row = one_row()
    assert (row.status, row.outcome, row.error_code, row.key_id, row.key_name) == (
        401, "client_error", "invalid_api_key", None, "")


def test_an_upstream_error_is_recorded(door, gateway_key):
    assert chat(door, gateway_key, "local/status-500").status_code == 502  # the upstream's 500, as a bad gateway
    row = one_row()
    assert (row.status, row.outcome, row.provider_name) == (502, "upstream_error", "local")
    assert row.error_cause


def test_an_error_in_the_middle_of_a_stream_is_recorded(door, gateway_key):
    resp = chat(door, gateway_key, "local/error-event", stream=True)
    assert resp.status_code == 200 and b'"error"' in resp.content
    row = one_row()
    assert (row.status, row.outcome, row.stream) == (200, "upstream_error", True)
    assert row.error_code


def test_a_refusal_by_the_rate_limit_is_recorded(door, transactional_db):
    from providers import services

    _key, raw = services.gateway_key_create(name="limited", rate_limit_rpm=1)
    assert chat(door, raw, "local/text").status_code == 200
    assert chat(door, raw, "local/text").status_code == 429
    row = one_row(status=429)
    assert (row.outcome, row.error_code, row.key_name) == ("limited", "rate_limit_exceeded", "limited")


def test_a_client_that_leaves_mid_stream_is_recorded(door, gateway_key, upstream):
    port = int(door.rsplit(":", 1)[1])
    sock = open_stream(port, gateway_key, "local/stall")
    try:
        assert b"chat.completion.chunk" in read_until(sock, b"chat.completion.chunk")
    finally:
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    row = one_row()
    assert (row.status, row.outcome, row.error_code, row.stream) == (200, "disconnected", "client_disconnected", True)
    assert row.bytes_out > 0


def test_model_listing_is_recorded(door, gateway_key):
    assert httpx.get(f"{door}/v1/models", headers={"Authorization": f"Bearer {gateway_key}"}).status_code == 200
    row = one_row()
    assert (row.surface, row.method, row.status, row.outcome, row.key_name) == ("models", "GET", 200, "ok",
                                                                                 "test-client")


@pytest.mark.parametrize(
    ("path", "body", "surface"),
    [
        ("/v1/messages", {"model": "local/text", "max_tokens": 16, "messages": MESSAGES}, "messages"),
        ("/v1/responses", {"model": "local/text", "input": "hi"}, "responses"),
        ("/v1/embeddings", {"model": "local/text", "input": "hi"}, "embeddings"),
        ("/v1/messages/count_tokens", {"model": "local/text", "messages": MESSAGES}, "count_tokens"),
    ],
)
def test_the_inbound_surfaces_are_recorded(door, gateway_key, path, body, surface):
    assert post(door, gateway_key, path, body).status_code == 200
    row = one_row()
    assert (row.surface, row.path, row.status, row.outcome, row.provider_name) == (surface, path, 200, "ok", "local")


def test_an_unknown_endpoint_is_recorded(door, gateway_key):
    assert post(door, gateway_key, "/v1/nothing-here", {}).status_code == 404
    row = one_row()
    assert (row.surface, row.status, row.error_code) == ("other", 404, "unknown_url")
