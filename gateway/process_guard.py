"""Keep the serving process's secrets away from the programs it starts.

Provider children (``claude_cli``, ``acp``) run as the gateway's own user, so they
can read what that user can read. Two things narrow it, once Django's settings hold
the values (called from ``gateway/asgi.py`` and ``gateway/wsgi.py``, not from
``settings.py``: ``manage.py runserver`` restarts itself and the test runner and
``manage.py bench`` start other processes from their environment):

- the secret variables are removed from ``os.environ``, so nothing started later
  (by a provider or any library) inherits them;
- the process is made non-dumpable (``prctl(PR_SET_DUMPABLE, 0)``, Linux): its
  ``/proc/<pid>/environ`` (the environment it was started with, which removing
  variables cannot change) and its memory are then readable by root only, not by
  its children. Debuggers and core dumps need root as well.

``*_FILE`` secrets are still the recommendation: the value never sits in any
process environment. ``GATEWAY_GUARD_PROCESS=false`` turns both off.
"""
from __future__ import annotations

import ctypes
import logging
import os
import sys

from django.conf import settings

log = logging.getLogger("gateway")

SECRET_VARIABLES = (
    "SECRET_KEY", "GATEWAY_ENCRYPTION_KEY", "GATEWAY_ENCRYPTION_OLD_KEYS", "DATABASE_URL", "REDIS_URL",
    "ADMIN_PASSWORD", "GATEWAY_METRICS_TOKEN",
)
PR_SET_DUMPABLE = 4


def guard_process() -> None:
    if not settings.GATEWAY_GUARD_PROCESS:
        return
    for name in SECRET_VARIABLES:
        os.environ.pop(name, None)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl failed")
        except (OSError, AttributeError) as exc:
            log.warning("could not make the gateway process non-dumpable: %s", exc)
