"""The data migration that makes a key's scope explicit keeps every existing key's
meaning: an empty provider set was "every provider" and becomes ``all_providers``;
a non-empty set stays a restriction. Going back, a key with no provider left is
revoked, since the old scheme would read it as "every provider"."""
from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("providers", "0001_initial")]
AFTER = [("providers", "0002_gatewaykey_all_providers")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_keys_keep_their_scope_and_nothing_widens_going_back(transactional_db):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("providers")
    try:
        old = migrate(BEFORE)
        Provider = old.get_model("providers", "Provider")
        Key = old.get_model("providers", "GatewayKey")
        local = Provider.objects.create(name="local", provider_type="custom", base_url="http://127.0.0.1:9/v1")
        Key.objects.create(name="open", prefix="gwk_a", key_hash="a" * 64)
        Key.objects.create(name="scoped", prefix="gwk_b", key_hash="b" * 64).providers.add(local)

        new = migrate(AFTER)
        Key = new.get_model("providers", "GatewayKey")
        assert dict(Key.objects.values_list("name", "all_providers")) == {"open": True, "scoped": False}
        new.get_model("providers", "Provider").objects.all().delete()  # "scoped" has no provider left

        old = migrate(BEFORE)
        Key = old.get_model("providers", "GatewayKey")
        revoked = {k.name: k.revoked_at is not None for k in Key.objects.all()}
        assert revoked == {"open": False, "scoped": True}
    finally:
        migrate(latest)
