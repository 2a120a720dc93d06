from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = _("Providers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from . import audit, signals  # noqa: F401
        from .models import GatewayKey, Provider, Route

        # The audit trail (providers/audit.py): one line per audited model.
        audit.register(Provider, secret=("api_key", "extra_headers", "secret_settings"),
                       skip=("display_name", "api_key_hint"))
        audit.register(GatewayKey, secret=("key_hash",), skip=("prefix", "last_used_at"),
                       labels={"key_hash": gettext_noop("secret key")})
        audit.register(Route)  # its targets: one "targets" change on the route (routes/services.py)
        checks.register(audit.check_admins, checks.Tags.admin)
