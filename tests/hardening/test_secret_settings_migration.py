"""The migration that encrypts the secret settings moves existing ``extra_query`` and
``env`` values out of the plaintext ``settings`` column into the encrypted field,
and back when migrating backwards; nothing else in the settings moves."""
from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("providers", "0002_gatewaykey_all_providers")]
AFTER = [("providers", "0003_provider_secret_settings")]
QUERY_SECRET = "qry-migrated-secret-M1n2"
ENV_SECRET = "env-migrated-secret-M3n4"


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def settings_column(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT settings FROM providers_provider WHERE name = %s", [name])
        return str(cursor.fetchone()[0])


def test_existing_values_are_encrypted_and_restored_going_back(transactional_db):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("providers")
    try:
        Provider = migrate(BEFORE).get_model("providers", "Provider")
        Provider.objects.create(name="cloud", provider_type="custom", base_url="http://127.0.0.1:9/v1",
                                settings={"read_timeout": 30, "extra_query": {"key": QUERY_SECRET}})
        Provider.objects.create(name="cli", provider_type="claude_cli",
                                settings={"command": "claude", "env": {"TOKEN": ENV_SECRET}})
        Provider.objects.create(name="plain", provider_type="custom", base_url="http://127.0.0.1:9/v1",
                                settings={"direct": True})

        Provider = migrate(AFTER).get_model("providers", "Provider")
        rows = {p.name: (p.settings, p.secret_settings) for p in Provider.objects.all()}
        assert rows == {
            "cloud": ({"read_timeout": 30}, {"extra_query": {"key": QUERY_SECRET}}),
            "cli": ({"command": "claude"}, {"env": {"TOKEN": ENV_SECRET}}),
            "plain": ({"direct": True}, None),
        }
        assert QUERY_SECRET not in settings_column("cloud") and ENV_SECRET not in settings_column("cli")

        Provider = migrate(BEFORE).get_model("providers", "Provider")
        assert {p.name: p.settings for p in Provider.objects.all()} == {
            "cloud": {"read_timeout": 30, "extra_query": {"key": QUERY_SECRET}},
            "cli": {"command": "claude", "env": {"TOKEN": ENV_SECRET}},
            "plain": {"direct": True},
        }
    finally:
        migrate(latest)
