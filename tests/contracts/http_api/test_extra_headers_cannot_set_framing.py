"""A provider's extra headers cannot set framing or hop-by-hop headers (``Host``,
``Content-Length``, ``Transfer-Encoding``, ``Connection``, ``Proxy-*`` ...): they
would go out beside the client's own. Refused when saved, as a field error."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["Host", "content-length", "Transfer-Encoding", "Connection", "Keep-Alive",
                                  "Upgrade", "TE", "Trailer", "Expect", "Proxy-Authorization"])
def test_a_framing_or_hop_by_hop_header_is_a_field_error(admin_client, name):
    payload = {"name": "local", "provider_type": "custom", "base_url": "http://127.0.0.1:8001/v1",
               "extra_headers": {"X-Fine": "yes", name: "x"}}
    response = admin_client.post("/api/providers/", payload, content_type="application/json",
                                 HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json() == {"extra_headers": [
        f"These headers are set by the gateway and cannot be extra headers: {name}."
    ]}


def test_ordinary_extra_headers_are_still_accepted(admin_client):
    payload = {"name": "local", "provider_type": "custom", "base_url": "http://127.0.0.1:8001/v1",
               "extra_headers": {"X-Fine": "yes", "OpenAI-Organization": "org"}}
    response = admin_client.post("/api/providers/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
