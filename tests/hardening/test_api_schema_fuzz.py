"""The /api/ OpenAPI schema, fuzzed with schemathesis as a staff user: a fixed,
bounded, derandomized number of cases per operation; no 5xx, and every response
matches the schema. Upstreams are confined to loopback while fuzzing, so a
fuzzed provider can never make the gateway reach out anywhere."""
from __future__ import annotations

import atexit

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

MAX_EXAMPLES = 30
CASES_RUN: list[str] = []


@atexit.register
def _report() -> None:
    if CASES_RUN:
        print(f"\nschemathesis: {len(CASES_RUN)} cases over {len(set(CASES_RUN))} /api/ operations")


def _load_schema():
    # /api/schema/ is staff-only, and no user exists at import time: the document is
    # generated as that view would render it. WSGIHandler, not get_wsgi_application():
    # that would run django.setup() again, which reconfigures logging mid-session.
    import json

    from django.core.handlers.wsgi import WSGIHandler
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = WSGIHandler()
    loaded.location = "/api/schema/"
    return loaded


@pytest.fixture
def keep_db_connection():
    """As Django's test client does: requests made through the WSGI app must not
    close the test's database connection (and so its transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def staff_token(db):
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_user("fuzz-staff", password="x" * 20, is_staff=True, is_superuser=True)
    return Token.objects.create(user=user).key


schema = _load_schema()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_api_never_answers_5xx_and_matches_its_schema(case, staff_token, keep_db_connection):
    # Valid input (positive cases) must get answers that match the schema. Invalid
    # input (negative cases: wrong types, a path id that is no integer and so routes
    # nowhere) only has to be refused without a server error.
    meta = case.meta
    negative = meta is not None and meta.generation.mode == GenerationMode.NEGATIVE
    checks = [not_a_server_error] if negative else [not_a_server_error, response_schema_conformance,
                                                     content_type_conformance]
    with override_settings(GATEWAY_ALLOWED_UPSTREAMS=["127.0.0.0/8"], GATEWAY_CONNECT_TIMEOUT=1.0):
        CASES_RUN.append(case.operation.label)
        case.call_and_validate(headers={"Authorization": f"Token {staff_token}"}, checks=checks)
