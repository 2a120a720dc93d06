"""Settings for the LLM provider gateway.

Everything comes from environment variables through the small helpers below,
so one file serves the embedded default (SQLite, a generated local encryption
key) and production (PostgreSQL, Redis, keys from a secret store).
Gateway-specific knobs share the ``GATEWAY_`` prefix.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_secret(name: str, default: str = "") -> str:
    """Read NAME, or the content of the file named by NAME_FILE (Docker/K8s secrets)."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points at {path!r}, which cannot be read: {exc}") from None
    return default


DEBUG = env_bool("DEBUG", False)
# Under pytest the embedded defaults apply (generated keys, loopback hosts).
TESTING = env_bool("GATEWAY_TESTING", "pytest" in sys.modules)

# Local state of the embedded default (SQLite file, generated keys). Never used in production.
VAR_DIR = Path(env("GATEWAY_VAR_DIR", str(BASE_DIR / "var")))


def _local_secret(filename: str) -> str:
    """A secret generated once and kept in VAR_DIR, for DEBUG and tests only."""
    path = VAR_DIR / filename
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def _existing_local_secret(filename: str) -> str:
    """A key the embedded default generated earlier (``scripts/run.sh``), so that
    ``manage.py`` commands in another shell use the same local keys without DEBUG."""
    path = VAR_DIR / filename
    return path.read_text().strip() if path.is_file() else ""


SECRET_KEY = env_secret("SECRET_KEY") or _existing_local_secret("secret_key")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = _local_secret("secret_key")
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE), or DEBUG=true for local development."
        )

# The key that encrypts provider secrets at rest. Kept apart from SECRET_KEY so that
# rotating one never destroys the other. Old keys stay readable during a rotation.
GATEWAY_ENCRYPTION_KEY = env_secret("GATEWAY_ENCRYPTION_KEY") or _existing_local_secret("encryption.key")
if not GATEWAY_ENCRYPTION_KEY:
    if DEBUG or TESTING:
        GATEWAY_ENCRYPTION_KEY = _local_secret("encryption.key")
    else:
        raise ImproperlyConfigured(
            "GATEWAY_ENCRYPTION_KEY is not set. The gateway encrypts provider API keys with it and "
            "cannot start without it. Generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` and set "
            "GATEWAY_ENCRYPTION_KEY (or GATEWAY_ENCRYPTION_KEY_FILE). Keep it out of the database "
            "and separate from SECRET_KEY."
        )
GATEWAY_ENCRYPTION_OLD_KEYS = env_list("GATEWAY_ENCRYPTION_OLD_KEYS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if (DEBUG or TESTING) else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "modeltranslation",  # must precede django.contrib.admin
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: /api/docs/ works offline
    "providers",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves STATIC_URL itself (the admin's CSS/JS) under uvicorn, where Django serves none;
    # it answers only paths under STATIC_URL, so the /v1 fast path knows it (chat/fastpath.py).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts, for the audit trail (providers/audit.py); changes no response.
    "providers.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gateway.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

ASGI_APPLICATION = "gateway.asgi.application"
WSGI_APPLICATION = "gateway.wsgi.application"

# Database: SQLite is the embedded default; DATABASE_URL selects PostgreSQL in production.
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    import dj_database_url

    # Under tests connections close after each request, so the test database can be dropped.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=0 if TESTING else env_int("DATABASE_CONN_MAX_AGE", 60)
        )
    }
    if env("GATEWAY_PG_TEST_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": env("GATEWAY_PG_TEST_NAME")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("GATEWAY_SQLITE_PATH", str(VAR_DIR / "gateway.sqlite3")),
            # IMMEDIATE: a transaction takes the write lock when it begins, so concurrent
            # writers wait (up to the timeout) instead of failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            # A file, not :memory:, so live-server tests can share it across threads.
            "TEST": {"NAME": env("GATEWAY_SQLITE_TEST_PATH", str(VAR_DIR / "test.sqlite3"))},
        }
    }

# Cache: Redis when REDIS_URL is set (shared by every gateway process), else in-process.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("GATEWAY_CACHE_PREFIX", "gw"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# i18n: English, Vietnamese, Simplified Chinese. Django has no plain "zh"; LocaleMiddleware
# maps Accept-Language: zh to zh-hans.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("vi", _("Vietnamese")),
    ("zh-hans", _("Simplified Chinese")),
]
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_LANGUAGES = ("en", "vi", "zh-hans")
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` (run by scripts/run.sh) gathers the files that WhiteNoise serves.
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # In production: compressed copies and content-hashed names, which WhiteNoise serves with
    # a one-year immutable cache. Under DEBUG pages link the plain names anyway (and WhiteNoise
    # reads the apps' files directly), so the plain storage spares run.sh the ~7 s of hashing
    # and compressing; tests use it too, so they need no collectstatic (the manifest storage
    # refuses a name missing from its manifest).
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if (DEBUG or TESTING)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's token as "Authorization: Token <key>" or "Authorization: Bearer <key>".
        "providers.authentication.TokenOrBearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Staff plus Django's model permissions, reads needing "view", as in the admin
    # (providers/permissions.py; views that are no model list/detail name their own).
    "DEFAULT_PERMISSION_CLASSES": ["providers.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM gateway admin API",
    "DESCRIPTION": "Register and manage the providers behind the gateway's OpenAI-compatible /v1 API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's JavaScript, CSS and icon from drf-spectacular-sidecar, served under
    # /static/ like the admin's: /api/docs/ needs no CDN and works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Security: secure cookies and HSTS outside DEBUG (behind a TLS-terminating proxy).
if not DEBUG and not TESTING:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a commitment for the whole domain that is slow to undo, so it
        # stays the operator's explicit choice; check --deploy need not nag about it.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_SSL_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Gateway knobs.
GATEWAY_MAX_BODY_BYTES = env_int("GATEWAY_MAX_BODY_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = GATEWAY_MAX_BODY_BYTES
# How often a gateway process checks whether another process changed providers or keys.
GATEWAY_CONFIG_REFRESH_SECONDS = env_float("GATEWAY_CONFIG_REFRESH_SECONDS", 1.0)
# How long live model lists from upstream /models are cached.
GATEWAY_MODELS_CACHE_SECONDS = env_float("GATEWAY_MODELS_CACHE_SECONDS", 60.0)
# Default upstream timeouts (per provider settings override them). Local inference is slow.
GATEWAY_CONNECT_TIMEOUT = env_float("GATEWAY_CONNECT_TIMEOUT", 10.0)
GATEWAY_READ_TIMEOUT = env_float("GATEWAY_READ_TIMEOUT", 600.0)
# Rate limits per gateway key (0 = unlimited); a key can override them.
GATEWAY_RATE_LIMIT_RPM = env_int("GATEWAY_RATE_LIMIT_RPM", 0)
GATEWAY_RATE_LIMIT_TPM = env_int("GATEWAY_RATE_LIMIT_TPM", 0)
# Base URL policy: metadata/link-local are refused unless allowed; an allowlist restricts hosts.
GATEWAY_ALLOW_LINK_LOCAL = env_bool("GATEWAY_ALLOW_LINK_LOCAL", False)
GATEWAY_ALLOWED_UPSTREAMS = env_list("GATEWAY_ALLOWED_UPSTREAMS")
# Secrets and key scope (issue 11, items 2-4): config import reads `file:` secret
# references only inside this directory (after resolving symlinks). Empty: the
# directory of the imported file; a file from standard input may then use none.
GATEWAY_SECRETS_DIR = env("GATEWAY_SECRETS_DIR", "")
# Limits that hold under concurrency and against strangers (issue 11, item 5; docs/hardening.md).
# Tokens reserved at admission for a request that names no max_tokens / max_completion_tokens.
GATEWAY_RATE_LIMIT_DEFAULT_COMPLETION_TOKENS = env_int("GATEWAY_RATE_LIMIT_DEFAULT_COMPLETION_TOKENS", 256)
# A /v1 request body must arrive within this time (408 past it, connection closed).
GATEWAY_BODY_TIMEOUT_SECONDS = env_float("GATEWAY_BODY_TIMEOUT_SECONDS", 30.0)
# Bytes all request bodies being received may hold in one worker (503 beyond it).
GATEWAY_MAX_INFLIGHT_BODY_BYTES = env_int("GATEWAY_MAX_INFLIGHT_BODY_BYTES", 64 * 1024 * 1024)
# Programs run by provider types (claude_cli, acp): decided by the deployment, never by a
# row staff can edit (providers/program_policy.py). Absolute paths or names looked up on
# PATH; a provider's command must be, or resolve to, one of them.
GATEWAY_ALLOWED_COMMANDS = env_list("GATEWAY_ALLOWED_COMMANDS", "claude,claude-agent-acp")
# Arguments, settings and variables that give an agent its own tools, bypass its
# permission prompts or choose where it reads its configuration (and so its hooks).
GATEWAY_ALLOW_AGENT_TOOLS = env_bool("GATEWAY_ALLOW_AGENT_TOOLS", False)
# Remove the gateway's own secrets from its environment once read, and make the serving
# process non-dumpable so that its children cannot read /proc/<pid>/environ or its memory
# (gateway/process_guard.py). Off under the test runner, whose processes start others.
GATEWAY_GUARD_PROCESS = env_bool("GATEWAY_GUARD_PROCESS", not TESTING)
# Inbound surfaces (issue 17): client model ids mapped to "<provider>/<model>" targets,
# a JSON object or "pattern=target,..." with fnmatch patterns (chat/aliases.py).
GATEWAY_MODEL_ALIASES = env("GATEWAY_MODEL_ALIASES")
# Upstream client bounds (issue 12): what one hostile or broken backend may cost a worker.
# Time to first byte: from the request sent to its whole head (interim 1xx answers
# included; a deadline, not an idle timer) and to the first byte of its body. A provider's
# "first_byte_timeout" (or its older "read_timeout") overrides it: long-thinking models need more.
GATEWAY_UPSTREAM_FIRST_BYTE_TIMEOUT = env_float("GATEWAY_UPSTREAM_FIRST_BYTE_TIMEOUT", GATEWAY_READ_TIMEOUT)
# The longest silence between two chunks of an answer after its first byte ("idle_read_timeout").
GATEWAY_UPSTREAM_IDLE_TIMEOUT = env_float("GATEWAY_UPSTREAM_IDLE_TIMEOUT", 300.0)
# The answer head: the longest status line / header line, and how many header lines.
GATEWAY_UPSTREAM_MAX_HEADER_BYTES = env_int("GATEWAY_UPSTREAM_MAX_HEADER_BYTES", 16 * 1024)
GATEWAY_UPSTREAM_MAX_HEADERS = env_int("GATEWAY_UPSTREAM_MAX_HEADERS", 100)
# A non-streamed answer (chat, /models), as received and as decoded.
GATEWAY_UPSTREAM_MAX_BODY_BYTES = env_int("GATEWAY_UPSTREAM_MAX_BODY_BYTES", 32 * 1024 * 1024)
# One server-sent event (its lines together) in a stream.
GATEWAY_UPSTREAM_MAX_EVENT_BYTES = env_int("GATEWAY_UPSTREAM_MAX_EVENT_BYTES", 4 * 1024 * 1024)
# Connections one provider may hold open at once (its "max_connections" setting overrides it).
GATEWAY_UPSTREAM_MAX_CONNECTIONS = env_int("GATEWAY_UPSTREAM_MAX_CONNECTIONS", 1024)
# Request log (issue 13; chat/requestlog.py, chat/requestlog_writer.py): one row per /v1
# request, queued in memory and written in batches by a background thread of each worker.
GATEWAY_REQUEST_LOG = env_bool("GATEWAY_REQUEST_LOG", True)
# Rows older than this many days are deleted (hourly by each worker, or `manage.py
# prune_request_log`); 0 keeps them forever.
GATEWAY_REQUEST_LOG_DAYS = env_int("GATEWAY_REQUEST_LOG_DAYS", 30)
# How often queued rows are written: SIGTERM writes what is queued, `kill -9` loses at
# most the rows of this interval.
GATEWAY_REQUEST_LOG_FLUSH_SECONDS = env_float("GATEWAY_REQUEST_LOG_FLUSH_SECONDS", 1.0)
# Rows one worker holds while the database is slow or down; beyond it rows are dropped
# (counted, and logged once per flush interval).
GATEWAY_REQUEST_LOG_QUEUE = env_int("GATEWAY_REQUEST_LOG_QUEUE", 10000)
# Rows per INSERT.
GATEWAY_REQUEST_LOG_BATCH = env_int("GATEWAY_REQUEST_LOG_BATCH", 500)
# For keys with "record bodies": the most bytes kept of each request and answer body.
GATEWAY_REQUEST_LOG_BODY_BYTES = env_int("GATEWAY_REQUEST_LOG_BODY_BYTES", 32 * 1024)
# The background writer; off in the test runner's own process, where tests write the
# queue themselves (chat.requestlog_writer.flush) inside their database transaction.
GATEWAY_REQUEST_LOG_WRITER = env_bool("GATEWAY_REQUEST_LOG_WRITER", "pytest" not in sys.modules)
# Prometheus metrics (chat/metrics.py): GET /metrics needs "Authorization: Bearer <token>";
# with no token, /metrics is off (404). Workers of one server sum their values through
# files in GATEWAY_METRICS_DIR (a run-<process group>-<start> directory per server run, tidied by
# the workers themselves). Label values from clients are bounded by GATEWAY_METRICS_MAX_SERIES.
GATEWAY_METRICS_TOKEN = env_secret("GATEWAY_METRICS_TOKEN")
GATEWAY_METRICS_DIR = Path(env("GATEWAY_METRICS_DIR", str(VAR_DIR / "metrics")))
GATEWAY_METRICS_MAX_SERIES = env_int("GATEWAY_METRICS_MAX_SERIES", 500)
# Usage reports (chat/usage.py): latency/TTFT percentiles read at most this many rows
# (an even sample of longer periods; counts and token sums are always exact).
GATEWAY_USAGE_SAMPLE_ROWS = env_int("GATEWAY_USAGE_SAMPLE_ROWS", 50000)
# Proxies (addresses or networks) whose X-Forwarded-For is believed for the client's
# address in the request log: the right-most address not in this list is the client.
GATEWAY_TRUSTED_PROXIES = env_list("GATEWAY_TRUSTED_PROXIES")
for _proxy in GATEWAY_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"GATEWAY_TRUSTED_PROXIES: {_proxy!r} is not an address or network") from None
for _name in ("GATEWAY_REQUEST_LOG_QUEUE", "GATEWAY_REQUEST_LOG_BATCH"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1")
if GATEWAY_REQUEST_LOG_DAYS < 0 or GATEWAY_REQUEST_LOG_BODY_BYTES < 0 or GATEWAY_REQUEST_LOG_FLUSH_SECONDS <= 0:
    raise ImproperlyConfigured(
        "GATEWAY_REQUEST_LOG_DAYS and GATEWAY_REQUEST_LOG_BODY_BYTES must not be negative, "
        "GATEWAY_REQUEST_LOG_FLUSH_SECONDS must be positive"
    )

# Routes and provider health (issue 14; chat/fallback.py, providers/health/breaker.py). A route's own
# fields override the first three. Fallback happens only before the first byte reaches the client.
GATEWAY_ROUTE_MAX_ATTEMPTS = env_int("GATEWAY_ROUTE_MAX_ATTEMPTS", 3)
# All attempts of one request together, until the first byte (a non-streamed answer: the whole answer).
GATEWAY_ROUTE_DEADLINE_SECONDS = env_float("GATEWAY_ROUTE_DEADLINE_SECONDS", 120.0)
# One streamed attempt's wait for its first frame before the next target is tried.
GATEWAY_ROUTE_FIRST_BYTE_TIMEOUT = env_float("GATEWAY_ROUTE_FIRST_BYTE_TIMEOUT", 30.0)
# Passive health: failures (connect errors, timeouts, 5xx, 429) of a target within the
# window; at the threshold it cools down for the cooldown, then one trial request decides.
GATEWAY_HEALTH_WINDOW_SECONDS = env_float("GATEWAY_HEALTH_WINDOW_SECONDS", 60.0)
GATEWAY_HEALTH_FAILURE_THRESHOLD = env_int("GATEWAY_HEALTH_FAILURE_THRESHOLD", 3)
GATEWAY_HEALTH_COOLDOWN_SECONDS = env_float("GATEWAY_HEALTH_COOLDOWN_SECONDS", 30.0)
# The longest cooldown an upstream's Retry-After may ask for.
GATEWAY_HEALTH_MAX_RETRY_AFTER = env_float("GATEWAY_HEALTH_MAX_RETRY_AFTER", 600.0)
# With REDIS_URL: how often each process exchanges health counts and cooldowns (in the background).
GATEWAY_HEALTH_SYNC_SECONDS = env_float("GATEWAY_HEALTH_SYNC_SECONDS", 0.5)

LOG_LEVEL = env("LOG_LEVEL", "DEBUG" if DEBUG else "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Provider secrets (keys, header, query and env values) are masked in every line written.
    "filters": {"redact_secrets": {"()": "providers.redact.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "loggers": {
        "gateway": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": True},
        "django": {"handlers": ["console"], "level": "INFO", "propagate": True},
        # Its DEBUG records dump whole template contexts (a key shown once, CSRF tokens):
        # never below INFO, whatever level the rest of the logging runs at.
        "django.template": {"level": "INFO", "propagate": True},
    },
}
