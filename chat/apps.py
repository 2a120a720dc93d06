from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = _("OpenAI-compatible API")

    def ready(self) -> None:
        from . import requestlog_writer

        requestlog_writer.install()
