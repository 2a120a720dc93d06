"""An ACP agent's own notices (claude-agent-acp sends Claude Code's "**Warning:** ..."
as an ``agent_message_chunk`` marked ``_meta.claudeCode.kind: "informational"``)
are not glued to the model's answer; and the pool settings that were never
implemented are refused by name instead of being accepted silently."""
from __future__ import annotations

import sys

import pytest
from django.core.exceptions import ValidationError

from providers import services
from tests.contracts.http_api.helpers import SCRIPTED_ACP_AGENT as AGENT
from tests.contracts.http_api.helpers import sdk_client


@pytest.fixture
def agent(make_provider, allow_programs):
    allow_programs(sys.executable)
    return make_provider(name="agent", provider_type="acp",
                         settings={"command": sys.executable, "args": [AGENT], "timeout": 30, "models": ["notice"]})


@pytest.mark.parametrize("stream", [False, True])
def test_only_the_models_message_reaches_the_client(agent, live_gateway, gateway_key, stream):
    with sdk_client(live_gateway, gateway_key, timeout=30) as client:
        answer = client.chat.completions.create(model="agent/notice", messages=[{"role": "user", "content": "hi"}],
                                                stream=stream)
        if stream:
            text = "".join(c.choices[0].delta.content or "" for c in answer if c.choices)
        else:
            text = answer.choices[0].message.content
    assert text == "Hello from fake"


@pytest.mark.parametrize("setting", [{"pool_size": 2}, {"idle_timeout": 30}])
def test_pool_settings_are_refused_with_the_reason(db, allow_programs, setting):
    allow_programs(sys.executable)
    with pytest.raises(ValidationError) as caught:
        services.provider_create(name="agent", provider_type="acp", settings={"command": sys.executable, **setting})
    (key,) = setting
    (message,) = caught.value.messages
    assert message.startswith(f"{key}: Not supported: every request starts its own agent process")
