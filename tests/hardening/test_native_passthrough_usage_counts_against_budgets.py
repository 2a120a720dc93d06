"""Native passthroughs (/v1/messages to an ``anthropic`` provider) settle the tokens
reserved at admission to the usage the upstream reports (input, cache and output
tokens), streamed or not, so a token budget counts what was really used."""
from __future__ import annotations

import httpx
import pytest
from django.core.cache import cache

from chat import budgets
from providers import services
from tests.fakes.anthropic_upstream import USAGE_IN, USAGE_OUT

pytestmark = pytest.mark.usefixtures("frozen_window")

HI = [{"role": "user", "content": "hi"}]


def test_native_messages_usage_settles_the_token_budget(any_gateway, make_provider, anthropic_upstream):
    make_provider(name="claude", provider_type="anthropic", base_url=anthropic_upstream.base_url,
                  api_key="sk-ant-provider-secret")
    key, raw = services.gateway_key_create(name="native", tokens_per_day=1000)
    counter = budgets.counter_name("t", key.pk, budgets.window(budgets.DAY, 1_800_000_030.0).label)
    with httpx.Client(base_url=any_gateway.url, timeout=20) as client:
        answer = client.post("/v1/messages", headers={"x-api-key": raw},
                             json={"model": "claude/text", "max_tokens": 4000, "messages": HI})
        assert answer.status_code == 200, answer.text
        assert cache.get(counter) == USAGE_IN + USAGE_OUT  # not the 4000-token allowance reserved
        streamed = client.post("/v1/messages", headers={"x-api-key": raw},
                               json={"model": "claude/text", "max_tokens": 4000, "stream": True, "messages": HI})
        assert streamed.status_code == 200 and "message_stop" in streamed.text
    assert cache.get(counter) == 2 * (USAGE_IN + USAGE_OUT)
