"""The raw ASGI fast path for /v1 (chat/fastpath.py) answers exactly as the Django
views behind the full middleware stack do: same status, headers and body, for
successes, streams and every kind of error, in every language, and for what the
security middleware decide (HSTS, the HTTPS redirect, a trusted proxy's header).
Each request is sent to both, in process, against the same real loopback upstream."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.core.handlers.asgi import ASGIHandler

from chat.fastpath import Application
from tests.asgi_call import HOST, call
from tests.scale.doors import EndlessBody, Recorder, both, chat_body, doors


@pytest.mark.parametrize(
    ("model", "stream"),
    [("local/text", False), ("local/text", True), ("local/tools", True), ("local/status-429", False),
     ("local/status-500", True), ("local/plain-503", False), ("missing/text", False), ("local", False)],
)
async def test_chat_answers_match_django(apps, transactional_db, make_provider, upstream, gateway_key, model, stream):
    await asyncio.to_thread(make_provider, name="local", base_url=upstream.base_url, api_key="sk-local-123456")
    got, expected = await both(
        apps, "POST", "/v1/chat/completions", {"Authorization": f"Bearer {gateway_key}"}, chat_body(model, stream)
    )
    assert got == expected


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, chat_body("local/text")),
        ({"Authorization": "Basic abc"}, chat_body("local/text")),
        ({"Authorization": "Bearer gwk_not-a-key"}, chat_body("local/text")),
        ({"Authorization": "Bearer gwk_not-a-key", "Accept-Language": "vi"}, chat_body("local/text")),
        ({"Authorization": "Bearer gwk_not-a-key", "Accept-Language": "zh-CN,zh;q=0.9"}, chat_body("local/text")),
        ({"Authorization": "Bearer gwk_not-a-key", "Accept-Language": "fr"}, chat_body("local/text")),
    ],
)
async def test_authentication_errors_match_django_in_every_language(apps, transactional_db, headers, body):
    got, expected = await both(apps, "POST", "/v1/chat/completions", headers, body)
    assert got == expected
    assert got[0] == 401


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe", b"[]", json.dumps({"model": "local/text"}).encode(),
     json.dumps({"model": "local/text", "messages": [], "stream": "yes"}).encode(), chat_body("")],
)
async def test_request_errors_match_django(apps, transactional_db, make_provider, upstream, gateway_key, body):
    await asyncio.to_thread(make_provider, name="local", base_url=upstream.base_url)
    got, expected = await both(
        apps, "POST", "/v1/chat/completions", {"Authorization": f"Bearer {gateway_key}", "Accept-Language": "vi"}, body
    )
    assert got == expected
    assert got[0] == 400


async def test_body_over_the_limit_matches_django(apps, transactional_db, gateway_key, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 64
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64
    got, expected = await both(
        apps, "POST", "/v1/chat/completions", {"Authorization": f"Bearer {gateway_key}"}, b"x" * 100
    )
    assert got == expected
    assert got[0] == 413


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/chat/completions"), ("POST", "/v1/models")])
async def test_wrong_method_matches_django(apps, transactional_db, gateway_key, method, path):
    got, expected = await both(apps, method, path, {"Authorization": f"Bearer {gateway_key}"})
    assert got == expected
    assert got[0] == 405
    assert ("allow", "POST" if path.endswith("completions") else "GET") in got[1]


async def test_model_list_matches_django(apps, transactional_db, make_provider, upstream, gateway_key):
    await asyncio.to_thread(make_provider, name="local", base_url=upstream.base_url)
    got, expected = await both(apps, "GET", "/v1/models", {"Authorization": f"Bearer {gateway_key}"})
    assert got == expected
    assert got[0] == 200
    assert "local/text" in {m["id"] for m in json.loads(got[2])["data"]}


async def test_requests_the_fast_path_cannot_answer_alike_go_to_django(apps, transactional_db, gateway_key):
    fast, behind = apps
    auth = {"Authorization": f"Bearer {gateway_key}"}
    # A language cookie, a host outside ALLOWED_HOSTS: Django's middleware decide.
    await call(fast, "GET", "/v1/models", {**auth, "Cookie": "django_language=vi"})
    status, _headers, _body = await call(fast, "GET", "/v1/models", {**auth, "Host": "evil.example"})
    assert behind.calls == 2
    assert status == 400


@pytest.mark.parametrize(
    "body",
    [b'{"model": "local/text", "messages": [], "seed": ' + b"9" * 5000 + b"}",
     b'{"model": "local/text", "messages": [], "temperature": NaN}',
     b'{"model": "local/text", "messages": [], "temperature": 1e999}'],
    ids=["int-5000-digits", "nan", "float-overflow"],
)
async def test_malformed_numbers_match_django(apps, transactional_db, gateway_key, body):
    got, expected = await both(apps, "POST", "/v1/chat/completions", {"Authorization": f"Bearer {gateway_key}"}, body)
    assert got == expected
    assert got[0] == 400


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/anything"])
async def test_a_bad_key_is_answered_before_the_body_is_read_on_both_doors(apps, transactional_db, path):
    headers = {"Authorization": "Bearer gwk_not-a-key", "Content-Length": str(10 * 1024 * 1024)}
    fast, django_door = doors(apps)
    expected = await call(django_door, "POST", path, headers, receive=EndlessBody())
    assert expected[0] == 401
    assert json.loads(expected[2])["error"]["code"] == "invalid_api_key"
    if path.endswith("completions"):
        body = EndlessBody()
        assert await call(fast, "POST", path, headers, receive=body) == expected
        assert body.chunks == 0  # the fast path did not even ask for it


async def test_bodies_over_the_in_flight_cap_match_on_both_doors(apps, transactional_db, gateway_key, settings):
    settings.GATEWAY_MAX_INFLIGHT_BODY_BYTES = 64
    fast, django_door = doors(apps)
    args = ("POST", "/v1/chat/completions", {"Authorization": f"Bearer {gateway_key}"}, chat_body("local/text"))
    got, expected = await call(fast, *args), await call(django_door, *args)
    assert got == expected
    assert got[0] == 503 and ("retry-after", "1") in got[1]


async def test_bodies_too_slow_match_on_both_doors(apps, transactional_db, gateway_key, settings):
    settings.GATEWAY_BODY_TIMEOUT_SECONDS = 0.2

    async def stalled() -> dict[str, Any]:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    fast, django_door = doors(apps)
    args = ("POST", "/v1/chat/completions", {"Authorization": f"Bearer {gateway_key}", "Content-Length": "100"})
    got, expected = await call(fast, *args, receive=stalled), await call(django_door, *args, receive=stalled)
    assert got == expected
    assert got[0] == 408 and ("connection", "close") in got[1]


# -- what SecurityMiddleware decides: HSTS, the HTTPS redirect, the proxy's header --


@pytest.fixture
def secure_deployment(settings: Any) -> Any:
    """Build a fast path and its Django behind it for HTTPS settings. Django's
    middleware read the settings when the handler is built, so each gets a fresh one."""
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    def build(*, ssl_redirect: bool) -> tuple[Application, Recorder, ASGIHandler]:
        settings.SECURE_SSL_REDIRECT = ssl_redirect
        django_app = ASGIHandler()
        behind = Recorder(django_app)
        return Application(behind, fast=True), behind, django_app

    return build


SECURE_CASES = [
    # (scheme, X-Forwarded-Proto or None, secure as Django sees it)
    ("https", None, True),
    ("http", None, False),
    ("http", "https", True),
    ("http", "https, http", True),  # the first value counts
    ("http", "http", False),
    ("https", "http", False),  # the trusted proxy's header wins over the scheme
]


@pytest.mark.parametrize(("scheme", "forwarded", "secure"), SECURE_CASES)
@pytest.mark.parametrize(
    ("method", "path", "keyed"), [("GET", "/v1/models", True), ("POST", "/v1/chat/completions", False)]
)
async def test_hsts_and_the_proxy_header_match_django(secure_deployment, transactional_db, gateway_key, scheme,
                                                      forwarded, secure, method, path, keyed):
    fast, behind, django_app = secure_deployment(ssl_redirect=False)
    headers = {"Authorization": f"Bearer {gateway_key}" if keyed else "Bearer gwk_not-a-key"}
    if forwarded is not None:
        headers["X-Forwarded-Proto"] = forwarded
    body = b"" if method == "GET" else chat_body("local/text")
    got = await call(fast, method, path, headers, body, scheme=scheme)
    assert behind.calls == 0, "the fast path handed the request to Django"
    expected = await call(django_app, method, path, headers, body, scheme=scheme)
    assert got == expected
    hsts = dict(got[1]).get("strict-transport-security")
    assert hsts == ("max-age=3600; includeSubDomains; preload" if secure else None)


@pytest.mark.parametrize(("scheme", "forwarded", "secure"), SECURE_CASES)
async def test_the_https_redirect_matches_django(secure_deployment, transactional_db, gateway_key, scheme, forwarded,
                                                 secure):
    fast, behind, django_app = secure_deployment(ssl_redirect=True)
    headers = {"Authorization": f"Bearer {gateway_key}"}
    if forwarded is not None:
        headers["X-Forwarded-Proto"] = forwarded
    got = await call(fast, "GET", "/v1/models", headers, scheme=scheme)
    expected = await call(django_app, "GET", "/v1/models", headers, scheme=scheme)
    assert got == expected
    if secure:
        assert behind.calls == 0 and got[0] == 200
    else:
        # Redirected to HTTPS: Django's answer, so the fast path leaves it to Django.
        assert behind.calls == 1 and got[0] == 301
        assert ("location", f"https://{HOST}/v1/models") in got[1]
