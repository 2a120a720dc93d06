"""What the tests of fallback on the inbound surfaces share: a route of
``<provider>/<model>`` targets in priority order, a request to each surface and what
a good answer of each looks like (their fixtures are in this folder's conftest.py)."""
from __future__ import annotations

import json
from typing import Any

import httpx

from providers.routes import services as route_services

KINDS = ["messages", "messages-stream", "responses", "responses-stream", "embeddings"]
PATHS = {"messages": "/v1/messages", "responses": "/v1/responses", "embeddings": "/v1/embeddings"}


def route(name: str, *targets: str, **fields: Any) -> Any:
    return route_services.route_create(name=name, targets=route_services.targets_from_names(
        [{"provider": t.split("/")[0], "model": t.split("/", 1)[1], "priority": n} for n, t in enumerate(targets)]),
        **fields)


def surface_of(kind: str) -> str:
    return kind.partition("-")[0]


def ask(base: str, key: str, kind: str, model: str) -> httpx.Response:
    """One request of ``kind`` (``KINDS``) to ``model``."""
    surface, _sep, stream = kind.partition("-")
    if surface == "messages":
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
        body: dict[str, Any] = {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    else:
        headers = {"Authorization": f"Bearer {key}"}
        body = {"model": model, "input": "hi"}
    if stream:
        body["stream"] = True
    return httpx.post(base + PATHS[surface], headers=headers, json=body, timeout=20)


def events(text: str) -> list[tuple[str | None, dict[str, Any]]]:
    """The (event name, data) pairs of an SSE body with ``event:`` lines."""
    out = []
    for block in text.split("\n\n"):
        name = data = None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: "):])
        if data is not None:
            out.append((name, data))
    return out


def good_answer(kind: str, answer: httpx.Response, model: str) -> None:
    """The answer is the surface's own, complete ("Hello from fake" from the fakes), and
    names ``model`` (the route) as its model."""
    assert answer.status_code == 200, answer.text
    if kind == "messages":
        message = answer.json()
        assert (message["type"], message["model"], message["stop_reason"]) == ("message", model, "end_turn")
        assert message["content"] == [{"type": "text", "text": "Hello from fake"}]
    elif kind == "messages-stream":
        seen = events(answer.text)
        assert [seen[0][0], seen[-1][0]] == ["message_start", "message_stop"]
        assert seen[0][1]["message"]["model"] == model
        assert "".join(d["delta"]["text"] for name, d in seen if name == "content_block_delta") == "Hello from fake"
    elif kind == "responses":
        response = answer.json()
        assert (response["object"], response["model"], response["status"]) == ("response", model, "completed")
        assert [c["text"] for item in response["output"] for c in item["content"]] == ["Hello from fake"]
    elif kind == "responses-stream":
        seen = events(answer.text)
        assert seen[-1][0] == "response.completed"
        assert {d["response"]["model"] for _name, d in seen if "response" in d} == {model}
        assert "".join(d["delta"] for name, d in seen if name == "response.output_text.delta") == "Hello from fake"
    else:
        assert answer.json()["model"] == model
        assert [d["embedding"] for d in answer.json()["data"]] == [[0.0, 2.0, 0.5]]
