"""Route names and provider names are one namespace of model ids, checked in both
directions by the same function (``selectors.name_clash``), from every door."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from providers import services
from providers.routes import services as route_services


@pytest.fixture
def provider(db, upstream):
    return services.provider_create(name="vllm", provider_type="custom", base_url=upstream.base_url,
                                    settings={"default_model": "text"})


def targets(*items):
    return route_services.targets_from_names([{"provider": p, "model": m} for p, m in items])


def test_a_route_may_not_take_a_provider_name_in_any_case(provider):
    for name in ("vllm", "VLLM"):
        with pytest.raises(ValidationError) as err:
            route_services.route_create(name=name, targets=targets(("vllm", "text")))
        assert "provider with this name exists" in err.value.message_dict["name"][0]


def test_a_provider_may_not_take_a_route_name(provider, upstream):
    route_services.route_create(name="chat-default", targets=targets(("vllm", "text")))
    with pytest.raises(ValidationError) as err:
        services.provider_create(name="chat-default", provider_type="custom", base_url=upstream.base_url)
    assert "route with this name exists" in err.value.message_dict["name"][0]
    other = services.provider_create(name="other", provider_type="custom", base_url=upstream.base_url)
    with pytest.raises(ValidationError):
        services.provider_update(provider=other, name="chat-default")


def test_the_api_refuses_both_directions_with_field_errors(provider, upstream, admin_client):
    made = admin_client.post("/api/routes/", {"name": "vllm", "targets": [{"provider": "vllm"}]},
                             content_type="application/json")
    assert made.status_code == 400
    assert list(made.json()) == ["name"]
    route_services.route_create(name="chat", targets=targets(("vllm", "")))
    clash = admin_client.post("/api/providers/", {"name": "chat", "provider_type": "custom",
                                                  "base_url": upstream.base_url}, content_type="application/json")
    assert clash.status_code == 400
    assert list(clash.json()) == ["name"]


@pytest.mark.parametrize("name", ["has/slash", "with space", "-leading", "", "x" * 65])
def test_route_names_are_whole_model_ids(provider, name):
    with pytest.raises(ValidationError) as err:
        route_services.route_create(name=name, targets=targets(("vllm", "text")))
    assert "name" in err.value.message_dict


def test_targets_are_checked(provider, upstream):
    bare = services.provider_create(name="bare", provider_type="custom", base_url=upstream.base_url,
                                    settings={"allowed_models": ["text"]})
    cases = [
        ([], "at least one target"),
        (targets(("ghost", "x")), "no provider named"),
        (targets(("bare", "")), "no default model"),
        (targets(("bare", "tools")), "does not allow"),
        (targets(("vllm", "text"), ("vllm", "text")), "appear twice"),
        (route_services.targets_from_names([{"provider": "vllm", "weight": 0}]), "weight"),
        (route_services.targets_from_names([{"provider": "vllm", "priority": -1}]), "priority"),
    ]
    for given, message in cases:
        with pytest.raises(ValidationError) as err:
            route_services.route_create(name="r", targets=given)
        assert message in " ".join(err.value.message_dict["targets"]), (given, err.value.message_dict)
    assert bare.pk


def test_unknown_api_fields_are_refused(provider, admin_client):
    made = admin_client.post("/api/routes/", {"name": "r", "targets": [{"provider": "vllm", "wieght": 2}],
                                              "fallback": True}, content_type="application/json")
    assert made.status_code == 400
    body = made.json()
    assert "fallback" in body and "targets" in body
