"""What the operator sees: metrics, logs and traces.

``LOGGING`` lives here too: its format is ``LOG_FORMAT``'s. Where the metrics' files go
(``PROMETHEUS_MULTIPROC_DIR``) is not a setting: the process chooses it at start, before
anything imports prometheus_client (``config.metrics_dir``).
"""

from django.core.exceptions import ImproperlyConfigured

from config.settings.env import env

# Required as ``Authorization: Bearer <token>`` on web's and each worker's /metrics when set.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Each worker serves its /metrics on this port (0: none).
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=9808)
if not 0 <= WORKER_METRICS_PORT <= 65535:
    raise ImproperlyConfigured(
        f"WORKER_METRICS_PORT: {WORKER_METRICS_PORT} is not a port (0 to 65535; 0 turns it off)."
    )

LOG_FORMATS = ("plain", "json")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT: {LOG_FORMAT!r} is not a log format; write plain or json.")

# Set: OpenTelemetry traces go there (OTLP over HTTP). Unset: nothing of OpenTelemetry is imported.
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "notifications.logcontext.ContextFilter"}},
    "formatters": {
        "plain": {
            "()": "notifications.logcontext.PlainFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "notifications.logcontext.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx logs every request at INFO: the attempts table already records them.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
