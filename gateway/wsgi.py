"""WSGI entry point (admin and /api only; /v1 streaming needs the ASGI server)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

application = get_wsgi_application()

from gateway.process_guard import guard_process  # noqa: E402

guard_process()  # secrets out of the environment children inherit (gateway/process_guard.py)
