"""``GET /metrics``: off (404) with no token; with ``GATEWAY_METRICS_TOKEN`` set, only that
token as a Bearer opens it; the answer is the Prometheus text format with what the
request log listener counted: requests by provider/model/status, latency and TTFT
histograms, tokens, streams in flight, upstream errors by cause, limit refusals, and
the rows the request log dropped."""
from __future__ import annotations

import pytest

from chat import metrics, requestlog
from tests.metrics.helpers import value

TOKEN = "metrics-token-for-tests-A1s2"


@pytest.fixture
def metrics_on(settings, tmp_path_factory):
    settings.GATEWAY_METRICS_TOKEN = TOKEN
    if not metrics._state:
        settings.GATEWAY_METRICS_DIR = tmp_path_factory.mktemp("metrics")
        assert metrics.install()
    return settings


def scrape(client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def finished(*, provider: str = "p1", model: str = "m1", status: int = 200, stream: bool = False,
             code: str | None = None, tokens: tuple[int, int] | None = (3, 6)) -> None:
    record = requestlog.start("chat", method="POST", path="/v1/chat/completions")
    record.provider_name, record.upstream_model, record.requested_model = provider, model, f"{provider}/{model}"
    record.stream = stream
    record.note_first_byte()
    if tokens:
        record.note_usage({"prompt_tokens": tokens[0], "completion_tokens": tokens[1]})
    if status >= 400:
        record.note_error(status, code, "why")
    record.finish(status)


def test_no_token_means_no_metrics(client, settings):
    settings.GATEWAY_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Token {TOKEN}", TOKEN])
def test_only_the_token_as_a_bearer_opens_it(client, metrics_on, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert TOKEN not in response.content.decode()


def test_requests_tokens_latency_and_errors_are_counted(client, metrics_on):
    before = scrape(client)
    finished()
    finished(stream=True)
    finished(status=503, code="upstream_status")
    finished(status=429, code="rate_limit_exceeded", provider="", model="", tokens=None)
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("gateway_requests_total", provider="p1", model="m1", status="200") == 2
    assert grew("gateway_requests_total", provider="p1", model="m1", status="503") == 1
    assert grew("gateway_requests_total", provider="", model="", status="429") == 1
    assert grew("gateway_tokens_total", provider="p1", model="m1", direction="in") == 9
    assert grew("gateway_tokens_total", provider="p1", model="m1", direction="out") == 18
    assert grew("gateway_request_duration_seconds_count", provider="p1", model="m1") == 3
    assert grew("gateway_time_to_first_token_seconds_count", provider="p1", model="m1") == 3
    assert grew("gateway_upstream_errors_total", provider="p1", cause="upstream_status") == 1
    assert grew("gateway_limit_refusals_total", limit="rate_limit_exceeded") == 1
    assert value(after, "gateway_streams_in_flight") == 0  # the stream ended


def test_a_stream_is_in_flight_until_it_ends(client, metrics_on):
    record = requestlog.start("chat")
    record.provider_name, record.upstream_model, record.stream = "p1", "m1", True
    record.note_first_byte()
    assert value(scrape(client), "gateway_streams_in_flight") == 1
    record.finish(200)
    assert value(scrape(client), "gateway_streams_in_flight") == 0


def test_dropped_log_rows_are_counted(client, metrics_on, settings):
    settings.GATEWAY_REQUEST_LOG_QUEUE = 1
    requestlog.configure()
    try:
        requestlog.QUEUE.clear()
        before = value(scrape(client), "gateway_request_log_dropped_rows_total")
        for _ in range(3):
            finished()  # the first fills the queue, the next two are dropped
    finally:
        requestlog.QUEUE.clear()
        settings.GATEWAY_REQUEST_LOG_QUEUE = 10000
        requestlog.configure()
    assert value(scrape(client), "gateway_request_log_dropped_rows_total") - before == 2


def test_model_labels_are_bounded(client, metrics_on, monkeypatch):
    monkeypatch.setitem(metrics._state, "max_series", len(metrics._state["pairs"]))
    before = scrape(client)
    finished(model="a-new-model-the-cap-refuses")
    after = scrape(client)
    assert value(after, "gateway_requests_total", provider="p1", model="a-new-model-the-cap-refuses", status="200") == 0
    assert (value(after, "gateway_requests_total", provider="p1", model="other", status="200")
            - value(before, "gateway_requests_total", provider="p1", model="other", status="200")) == 1
