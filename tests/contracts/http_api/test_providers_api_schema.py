"""The OpenAPI schema of /api/ is generated without warnings and describes the provider API."""
from __future__ import annotations

import io

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings_or_errors(tmp_path):
    out = tmp_path / "schema.yaml"
    stderr = io.StringIO()
    # --fail-on-warn turns any drf-spectacular warning or error into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stderr=stderr)
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/providers/"])
    assert {"get", "put", "patch", "delete"} <= set(paths["/api/providers/{id}/"])
    assert "get" in paths["/api/provider-types/"]


def test_schema_keeps_secrets_write_only(admin_client):
    response = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    components = schema["components"]["schemas"]
    read = components["Provider"]["properties"]
    write = components["ProviderRequest"]["properties"]
    assert "api_key" not in read and "extra_headers" not in read
    assert {"has_api_key", "api_key_hint", "extra_header_names"} <= set(read)
    assert {"api_key", "clear_api_key", "extra_headers"} <= set(write)
    assert set(components["DisplayNames"]["properties"]) == {"en", "vi", "zh-hans"}
    assert components["PaginatedProviderList"]["properties"]["results"]["items"] == {
        "$ref": "#/components/schemas/Provider"
    }
    post = schema["paths"]["/api/providers/"]["post"]["responses"]
    assert {"201", "400", "401", "403"} <= set(post)
