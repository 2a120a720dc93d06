"""A request to a route leaves one request log row naming the route, how many
targets were tried, and the provider and upstream model of the target that
answered (after falling back from a failing one), through both doors."""
from __future__ import annotations

import pytest

from providers.routes import services as route_services
from tests.requestlog.helpers import chat, one_row


@pytest.fixture(params=["fast", "django"])
def door(request, live_gateway, make_provider, upstream) -> str:
    make_provider(name="local", base_url=upstream.base_url)
    make_provider(name="spare", base_url=upstream.base_url)
    route_services.route_create(name="chat-default", targets=route_services.targets_from_names([
        {"provider": "local", "model": "status-503", "priority": 0},
        {"provider": "spare", "model": "text", "priority": 1}]))
    return live_gateway.url if request.param == "fast" else request.getfixturevalue("django_url")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_routed_request_records_the_route_attempts_and_answering_target(door, gateway_key, stream):
    assert chat(door, gateway_key, "chat-default", stream=stream).status_code == 200
    row = one_row()
    assert (row.route, row.attempts, row.status, row.outcome) == ("chat-default", 2, 200, "ok")
    assert (row.requested_model, row.provider_name, row.upstream_model) == ("chat-default", "spare", "text")


def test_a_direct_request_has_no_route(door, gateway_key):
    assert chat(door, gateway_key, "spare/text").status_code == 200
    row = one_row()
    assert (row.route, row.attempts) == ("", None)
