"""gunicorn's configuration (``gunicorn -c config/gunicorn.py``).

- Metrics: this web process group's directory (``config.metrics_dir``), chosen as the master
  reads this file, before any worker imports prometheus_client; emptied once at start; a
  worker's exit is noted.
- Logs: gunicorn's own lines (its errors and the access log) follow ``LOG_FORMAT`` too, and an
  access line names the request's ``X-Request-ID``.
"""

import os

from gunicorn.glogging import Logger

from config import metrics_dir  # first: it also reads .env into the environment
from notifications.logcontext import JsonFormatter

_directory = metrics_dir.choose("web")

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'


class ServiceLogger(Logger):
    """gunicorn's logger, writing JSON objects with ``LOG_FORMAT=json``."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if os.environ.get("LOG_FORMAT", "plain").strip().lower() == "json":
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(JsonFormatter())


logger_class = ServiceLogger


def on_starting(server) -> None:
    metrics_dir.clean(_directory)


def child_exit(server, worker) -> None:
    metrics_dir.mark_dead(worker.pid)


def worker_exit(server, worker) -> None:
    from config import tracing

    tracing.stop()
