"""Settings, read from the environment (and `.env`) through django-environ.

With ``NOTIFY_EMBEDDED=true`` (or ``DEBUG``) and no ``DATABASE_URL``, the service runs
embedded: SQLite and kombu's ``filesystem://`` broker under ``var/``. ``DATABASE_URL``,
``CELERY_BROKER_URL`` and ``REDIS_URL`` select PostgreSQL, RabbitMQ and Redis. Every name is
listed in the README.
"""

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from notifications import task_names


class Env(environ.Env):
    """django-environ, strict: a value that does not parse stops the process at start, naming
    its variable. (django-environ's own ``int`` says only "invalid literal for int()", and its
    ``bool`` reads any word it does not know, "ture" included, as False.)"""

    BOOLEAN_FALSE_STRINGS = ("false", "off", "no", "n", "0", "")

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{var}: {self.ENVIRON.get(var)!r} is not a valid value ({exc}).") from exc

    def bool(self, var, default=environ.Env.NOTSET):
        text = self.ENVIRON.get(var)
        if text is not None and text.strip().lower() not in (*self.BOOLEAN_TRUE_STRINGS, *self.BOOLEAN_FALSE_STRINGS):
            raise ImproperlyConfigured(f"{var}: {text!r} is not a boolean; write true or false.")
        return super().bool(var, default=default)


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(Env().str("NOTIFIER_VAR_DIR", default=str(BASE_DIR / "var")))

env = Env()
# NOTIFIER_ENV_FILE=/dev/null keeps a developer's .env out of the test run.
environ.Env.read_env(Env().str("NOTIFIER_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

# --- Django ------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
# The embedded default (SQLite and a filesystem broker under var/, a dev-only key) must be asked
# for: a production deploy that lost its DATABASE_URL stops here, rather than serving from an
# empty SQLite file with a key anyone can read. `make run` asks for it.
NOTIFY_EMBEDDED = env.bool("NOTIFY_EMBEDDED", default=False)
_EMBEDDED = "DATABASE_URL" not in env
if _EMBEDDED and not (DEBUG or NOTIFY_EMBEDDED):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set: set DATABASE_URL to the database, or NOTIFY_EMBEDDED=true to run on the "
        "embedded SQLite database and filesystem broker under var/ (make run sets it)."
    )
if DEBUG or _EMBEDDED:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
else:
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# HTTPS. Outside DEBUG and the embedded default the service is served over HTTPS, by itself or
# behind a proxy that ends TLS: cookies are Secure and browsers are told to keep to HTTPS.
_SERVED_OVER_HTTPS = not (DEBUG or _EMBEDDED)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_SERVED_OVER_HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_SERVED_OVER_HTTPS)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _SERVED_OVER_HTTPS else 0)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured(f"SECURE_HSTS_SECONDS: {SECURE_HSTS_SECONDS} is negative; 0 turns HSTS off.")
# Both commit more than this service's own host name: the operator's choice, off by default.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Off by default: TLS usually ends at a proxy or load balancer that redirects plain HTTP itself.
# Probes call the health endpoints over plain HTTP from inside the network, so they never redirect.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# "HEADER,VALUE", e.g. HTTP_X_FORWARDED_PROTO,https: only behind a proxy that always sets (or
# strips) that header, since a client could otherwise claim HTTPS. Unset: trust no header.
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header and (len(_proxy_ssl_header) != 2 or not _proxy_ssl_header[0].startswith("HTTP_")):
    raise ImproperlyConfigured(
        f"SECURE_PROXY_SSL_HEADER: {env.str('SECURE_PROXY_SSL_HEADER')!r} is not HEADER,VALUE; "
        "write e.g. HTTP_X_FORWARDED_PROTO,https."
    )
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) or None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's assets, served by this project: /api/docs/ works offline
    "django_celery_beat",
    "anymail",  # its checks of ANYMAIL; its tracking webhooks are mounted under /api/v1/callbacks/email/
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "notifications.api.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

# Password logins (the admin's and the browsable API's) are rate-limited by django-axes: after
# AXES_FAILURE_LIMIT failures for one username from one address, that pair is refused, right
# password or not, until AXES_COOLOFF_TIME has passed since the last failure. The count lives in the
# database, so every gunicorn worker sees it, and a good login clears it. API tokens never pass
# through these backends, so a locked-out login leaves the client's API calls alone.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured(f"AXES_FAILURE_LIMIT: {AXES_FAILURE_LIMIT} is below 1.")
_cooloff = env.str("AXES_COOLOFF_TIME", default="15m").strip()
# With a unit, always: django-axes reads a bare number as hours, everything else here as seconds.
if not (_cooloff_match := re.fullmatch(r"([1-9][0-9]*)([smhd])", _cooloff)):
    raise ImproperlyConfigured(f"AXES_COOLOFF_TIME: {_cooloff!r} is not a duration; write e.g. 900s, 15m, 1h.")
AXES_COOLOFF_TIME = timedelta(
    seconds=int(_cooloff_match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[_cooloff_match[2]]
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Lockouts are still logged as warnings; off drops only the banner axes logs as every process starts.
AXES_VERBOSE = False

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'notifier.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share one file: WAL lets readers run beside the writer,
    # IMMEDIATE transactions queue writers instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # A dead database must answer fast (503), not hang a request.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    # Parameters sent apart from the SQL, and statements run 5 times prepared: the claim,
    # the finish and the create skip PostgreSQL's parse and plan (a claim 0.66 → 0.52 ms).
    # PgBouncer in transaction mode before 1.21 cannot keep prepared statements: turn them off there.
    DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
    DATABASES["default"]["OPTIONS"].setdefault(
        "prepare_threshold", 5 if env.bool("DATABASE_PREPARED_STATEMENTS", default=True) else None
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="notifier")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
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

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# A bulk request of 1,000 notifications with payloads needs more than Django's 2.5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# gunicorn serves the admin's and the browsable API's assets through WhiteNoise; without
# a collectstatic (embedded, DEBUG) it finds them in the apps directly.
WHITENOISE_USE_FINDERS = DEBUG or _EMBEDDED
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx logs every request at INFO: the attempts table already records them.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

# --- Email -------------------------------------------------------------------

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))
# Set, it wins over EMAIL_URL's SMTP backend: an ESP (anymail.backends.<esp>.EmailBackend) is chosen
# in one variable, even where EMAIL_URL is given (docker-compose.yml's Mailpit).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=EMAIL_BACKEND)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="notifier@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# An SMTP server that takes what the primary backend fails transiently (checked at start by
# notifier.registry.check_settings, which parses it).
EMAIL_FALLBACK_URL = env.str("EMAIL_FALLBACK_URL", default="")
# django-anymail's settings, one variable each: ANYMAIL_<NAME> becomes ANYMAIL["<NAME>"]
# (ANYMAIL_POSTMARK_SERVER_TOKEN, ANYMAIL_SENDGRID_API_KEY, ANYMAIL_WEBHOOK_SECRET, …), as strings
# except the few anymail reads as numbers or booleans.
_ANYMAIL_TYPED = {
    "REQUESTS_TIMEOUT": env.float,
    "IGNORE_RECIPIENT_STATUS": env.bool,
    "IGNORE_UNSUPPORTED_FEATURES": env.bool,
    "DEBUG_API_REQUESTS": env.bool,
}
ANYMAIL = {
    _name.removeprefix("ANYMAIL_"): _ANYMAIL_TYPED.get(_name.removeprefix("ANYMAIL_"), env.str)(_name)
    for _name in sorted(os.environ)
    if _name.startswith("ANYMAIL_") and _name != "ANYMAIL_"
}

# --- REST API ----------------------------------------------------------------

NOTIFY_API_RATE = env.str("NOTIFY_API_RATE", default="100/s")
# Bytes of one notification's subject + body + payload (compact JSON), UTF-8.
NOTIFY_MAX_CONTENT_BYTES = env.int("NOTIFY_MAX_CONTENT_BYTES", default=262144)
# A recipient profile's locale when the client gives none (BCP 47).
NOTIFY_DEFAULT_LOCALE = env.str("NOTIFY_DEFAULT_LOCALE", default="en")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "notifications.api.authentication.TokenOrBearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "notifications.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["notifications.api.throttling.ClientRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "notifications.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "notifier",
    "DESCRIPTION": "Delayed notifications: webhooks, email and console, delivered at send_at.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the one choice set two fields use: delivery_status and a provider report's type;
    # and a notification's channel and a broadcast's channels.
    "ENUM_NAME_OVERRIDES": {
        "DeliveryStatusEnum": "notifications.models.DeliveryStatus",
        "ChannelEnum": "notifier.registry.KNOWN_CHANNELS",
    },
}

# --- Notifications (read through notifications/conf.py, checked there at start) --

NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=18)
NOTIFY_RETRY_BACKOFF = env.int("NOTIFY_RETRY_BACKOFF", default=30)
NOTIFY_RETRY_BACKOFF_MAX = env.int("NOTIFY_RETRY_BACKOFF_MAX", default=21600)
NOTIFY_RETRY_AFTER_MAX = env.int("NOTIFY_RETRY_AFTER_MAX", default=3600)
NOTIFY_LEASE_SECONDS = env.int("NOTIFY_LEASE_SECONDS", default=60)
NOTIFY_SWEEP_INTERVAL = env.int("NOTIFY_SWEEP_INTERVAL", default=30)
NOTIFY_SWEEP_GRACE = env.int("NOTIFY_SWEEP_GRACE", default=30)
NOTIFY_SWEEP_BATCH = env.int("NOTIFY_SWEEP_BATCH", default=500)
NOTIFY_DISPATCH_BATCH = env.int("NOTIFY_DISPATCH_BATCH", default=50)
NOTIFY_RETENTION_DAYS = env.int("NOTIFY_RETENTION_DAYS", default=30)
# Circuit breakers (per provider and per webhook host), the cap on sends in flight to one
# webhook host, and send rates per provider: shared by every worker through Redis.
NOTIFY_BREAKER_MIN_CALLS = env.int("NOTIFY_BREAKER_MIN_CALLS", default=20)
NOTIFY_BREAKER_WINDOW = env.float("NOTIFY_BREAKER_WINDOW", default=60.0)
NOTIFY_BREAKER_THRESHOLD = env.float("NOTIFY_BREAKER_THRESHOLD", default=0.5)
NOTIFY_BREAKER_COOLDOWN = env.float("NOTIFY_BREAKER_COOLDOWN", default=30.0)
WEBHOOK_HOST_CONCURRENCY = env.int("WEBHOOK_HOST_CONCURRENCY", default=4)
NOTIFY_RATES = {
    provider: env.str(f"NOTIFY_RATE_{provider}", default="")
    for provider in ("TWILIO", "FCM", "EXPO", "TELEGRAM", "SLACK", "EMAIL")
}
# Most sends per recipient profile and channel (20/h); over it, a send waits. Empty: no cap.
NOTIFY_RECIPIENT_RATE = env.str("NOTIFY_RECIPIENT_RATE", default="")
# The service's public base URL (https://notify.example.com): provider callbacks are built on it.
NOTIFY_PUBLIC_URL = env.str("NOTIFY_PUBLIC_URL", default="")
# Fernet keys for secrets at rest, newest first; empty: one derived from SECRET_KEY.
NOTIFY_ENCRYPTION_KEYS = env.list("NOTIFY_ENCRYPTION_KEYS", default=[])
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)
WEBHOOK_PROXY = env.str("WEBHOOK_PROXY", default="")
# The API providers (sms, telegram, slack), read by notifier/registry.py and checked there at
# start. A channel whose credentials are empty is not offered; its base URL is the operator's.
PROVIDER_TIMEOUT = env.float("PROVIDER_TIMEOUT", default=10.0)
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")
TWILIO_API_URL = env.str("TWILIO_API_URL", default="https://api.twilio.com")
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_API_URL = env.str("TELEGRAM_API_URL", default="https://api.telegram.org")
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="")
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api")
# Push (read by notifier/registry.py, checked there at start). Expo needs no credentials, so the
# push channel is always offered; FCM tokens only when FCM_CREDENTIALS names a service-account
# JSON (its token_uri is where the OAuth token comes from; FCM_PROJECT_ID defaults to its project_id).
FCM_CREDENTIALS = env.str("FCM_CREDENTIALS", default="")
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")
FCM_API_URL = env.str("FCM_API_URL", default="https://fcm.googleapis.com")
EXPO_API_URL = env.str("EXPO_API_URL", default="https://exp.host")
EXPO_ACCESS_TOKEN = env.str("EXPO_ACCESS_TOKEN", default="")

# --- Celery ------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's virtual transports need a host name they never use: without one ("filesystem://"),
    # kombu warns "No hostname was supplied" each time it copies the connection, which is every publish.
    # Celery reads CELERY_BROKER_URL from the environment before this setting, so both are named.
    if not urlsplit(CELERY_BROKER_URL).hostname:
        CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"] = "filesystem://localhost/"
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
    }
    _queue_arguments: dict = {}
else:
    # Quorum queues on a topic exchange: RabbitMQ holds delayed messages itself
    # (native delayed delivery), so waiting notifications cost no worker memory.
    _queue_arguments = {"x-queue-type": "quorum"}

NOTIFY_EXCHANGE = Exchange("notifier", type="topic")
CELERY_TASK_QUEUES = [
    Queue(name, NOTIFY_EXCHANGE, routing_key=name, queue_arguments=_queue_arguments)
    for name in ("notify.high", "notify.normal", "notify.low", "notify.maintenance")
]
CELERY_TASK_DEFAULT_QUEUE = "notify.normal"
CELERY_TASK_DEFAULT_EXCHANGE = "notifier"
CELERY_TASK_DEFAULT_EXCHANGE_TYPE = "topic"
CELERY_TASK_DEFAULT_ROUTING_KEY = "notify.normal"
CELERY_BROKER_NATIVE_DELAYED_DELIVERY_QUEUE_TYPE = "quorum"
CELERY_TASK_ACKS_LATE = True
# 1: a deliver_batch message is up to 50 sends, so a process that reserves more holds
# work another could start (burst p99 5.3 to 7.7 s at 1 against 8.1 to 9.3 s at 4, docs/benchmarks.md).
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Off: a task-sent event is a second publish per notification; Flower follows
# tasks from the workers' events (received, started, succeeded).
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
# A web request publishes on commit; if the broker is away it must not hang:
# the row is stored and the missed-sweep sends it later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The DatabaseScheduler wakes at most this often: never longer than a sweep interval.
CELERY_BEAT_MAX_LOOP_INTERVAL = min(5, NOTIFY_SWEEP_INTERVAL)
CELERY_BEAT_SCHEDULE = {
    task_names.SWEEP_MISSED: {
        "task": task_names.SWEEP_MISSED,
        "schedule": float(NOTIFY_SWEEP_INTERVAL),
        "options": {"queue": "notify.maintenance", "expires": NOTIFY_SWEEP_INTERVAL},
    },
    task_names.SWEEP_STUCK: {
        "task": task_names.SWEEP_STUCK,
        "schedule": float(NOTIFY_SWEEP_INTERVAL),
        "options": {"queue": "notify.maintenance", "expires": NOTIFY_SWEEP_INTERVAL},
    },
    task_names.PURGE_OLD: {
        "task": task_names.PURGE_OLD,
        "schedule": 3600.0,
        "options": {"queue": "notify.maintenance", "expires": 3600},
    },
    task_names.EXPO_RECEIPTS: {
        "task": task_names.EXPO_RECEIPTS,
        "schedule": 300.0,
        "options": {"queue": "notify.maintenance", "expires": 300},
    },
    # Broadcast expansions stalled for a minute (services.broadcasts_resume): published again.
    task_names.SWEEP_BROADCASTS: {
        "task": task_names.SWEEP_BROADCASTS,
        "schedule": 30.0,
        "options": {"queue": "notify.maintenance", "expires": 30},
    },
}
CELERY_TIMEZONE = "UTC"
DJANGO_CELERY_BEAT_TZ_AWARE = True
