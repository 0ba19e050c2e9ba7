"""Django itself: debug and the embedded default, security, apps, database, cache, auth, static files, logging."""

import re
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from config.settings.env import VAR_DIR, env

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
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
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
    # Before anything reads the Host header: /metrics answers a scrape by the pod's address.
    "notifications.scrape.MetricsMiddleware",
    # Then: everything after it, the view's log lines and the rows it creates, knows the request's id.
    "notifications.api.middleware.RequestIdMiddleware",
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
