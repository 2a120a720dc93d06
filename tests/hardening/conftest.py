"""Fixtures of the hardening tests: a misbehaving upstream on loopback, the gateway on
Django's own request path, staff roles, and the rate limits' clock stopped."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import wait_until
from tests.fakes.faulty_upstream import FaultyUpstream

# Thirty seconds into a minute: every request of a test falls in one window and
# the Retry-After is known exactly.
FROZEN_NOW = 1_800_000_030.0


@pytest.fixture
def frozen_window(limits_clock: Callable[[float], None]) -> None:
    """The clock of the rate limits and budgets stopped at ``FROZEN_NOW``; the counters
    start and end empty."""
    limits_clock(FROZEN_NOW)


@pytest.fixture(scope="session")
def faulty_server() -> Iterator[FaultyUpstream]:
    server = FaultyUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def faulty(faulty_server: FaultyUpstream) -> FaultyUpstream:
    faulty_server.requests.clear()
    return faulty_server


class DjangoPathGateway:
    """The gateway under uvicorn with the /v1 fast path off: every request goes
    through Django's own ASGI handler and middleware. With ``fast=True, loop="uvloop",
    http="httptools"``: the gateway as docs/deployment.md serves it."""

    def __init__(self, *, fast: bool = False, loop: str = "asyncio", http: str = "h11") -> None:
        import threading

        import uvicorn

        from chat.fastpath import Application
        from gateway.asgi import django_application
        from tests.conftest import free_port

        self.port = free_port()
        config = uvicorn.Config(
            Application(django_application, fast=fast), host="127.0.0.1", port=self.port, loop=loop,
            http=http, lifespan="off", log_level="warning", timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="django-path-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DjangoPathGateway:
        self.thread.start()
        if not wait_until(lambda: self.server.started):
            raise RuntimeError("the gateway did not start")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def django_path_server() -> Iterator[DjangoPathGateway]:
    gw = DjangoPathGateway().start()
    yield gw
    gw.stop()


@pytest.fixture(params=["fast-path", "django-path"])
def any_gateway(request, live_gateway, django_path_server):
    """The live gateway on both request paths (the raw ASGI /v1 fast path and Django's handler)."""
    return live_gateway if request.param == "fast-path" else django_path_server


# Staff users as an operator hands them out: the access-control tests run each
# operation as every one of them (never only as a superuser).
ROLES: dict[str, tuple[str, ...] | None] = {
    "no-permissions": (),
    "view-only": ("view_provider", "view_gatewaykey"),
    "change-not-add": ("change_provider", "change_gatewaykey"),
    "superuser": None,
}


def role_allows(role: str, action: str) -> bool:
    """What Django's admin grants each role (``view`` is also granted by ``change``)."""
    perms = ROLES[role]
    if perms is None:
        return True
    return any(p.startswith(f"{action}_") or (action == "view" and p.startswith("change_")) for p in perms)


def make_role_user(role: str, *, is_staff: bool = True):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    User = get_user_model()
    name = f"{role}-user"
    if ROLES[role] is None:
        return User.objects.create_superuser(name, f"{name}@example.com", "a-long-password-789")
    user = User.objects.create_user(name, password="a-long-password-789", is_staff=is_staff)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="providers",
                                                        codename__in=ROLES[role]))
    return user


@pytest.fixture
def role_objects(db, upstream):
    """A provider (with a key, on the fake upstream) and a gateway key; upstream log cleared."""
    from providers import services

    provider = services.provider_create(name="p", provider_type="custom", base_url=upstream.base_url,
                                        api_key="sk-role-test-secret-0001")
    key, _raw = services.gateway_key_create(name="k")
    upstream.requests.clear()
    return provider, key

