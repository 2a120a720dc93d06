"""ASGI entry point: composes the applications. Serve with::

    uvicorn gateway.asgi:application --loop uvloop --http httptools --no-access-log

Django's ASGI handler serves every request; the raw /v1 fast path
(``chat/fastpath.py``) sits in front of it and takes the /v1 requests it can
answer exactly as Django would. docs/architecture.md says which take which and why.
"""
from __future__ import annotations

import gc
import os
import signal
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

django_application = get_asgi_application()

from gateway.process_guard import guard_process

guard_process()  # secrets out of the environment children inherit (gateway/process_guard.py)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


# uvicorn handles SIGTERM while it serves (it finishes the requests in flight), then
# raises the signal again with the handler it found at start: with the default one the
# process dies on the spot and ``atexit`` hooks never run. This one exits through the
# interpreter, so they do: the request log writes its queue, the metrics take this
# worker's live gauges out of the sums.
signal.signal(signal.SIGTERM, _exit_on_sigterm)

from chat import metrics

metrics.install()  # before anything imports prometheus_client: its multiprocess mode (chat/metrics.py)

from chat.fastpath import Application

__all__ = ["Application", "application", "django_application"]

application = Application(django_application)

# Everything imported so far (Django, the apps, the URLconf) lives as long as the
# process: move it out of the garbage collector's sight, so the collections that
# request traffic triggers do not walk it again and again (fewer latency spikes).
gc.collect()
gc.freeze()
