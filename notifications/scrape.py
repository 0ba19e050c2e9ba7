"""``GET /metrics``: on web (a Django view) and on each worker (its own small HTTP server).

Both serve the counters and histograms of ``notifications.metrics``, summed over the
process group's processes from prometheus_client's multiprocess files. Web also serves the
gauges that describe the backlog, read when scraped: from PostgreSQL (bounded by
``SCRAPE_TIMEOUT``) and from Redis (breakers, beat's heartbeat). They are the same on every
web pod, so a query takes ``max()`` across pods. ``METRICS_TOKEN``, when set, is required
as ``Authorization: Bearer <token>`` on both.

The worker's server is hand-written around the standard library's WSGI server because
prometheus_client's ``start_http_server`` takes no authentication.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from notifications import conf, metrics, selectors
from notifier import gate_reads

logger = logging.getLogger(__name__)

# The longest a scrape waits for each of its database reads.
SCRAPE_TIMEOUT = timedelta(seconds=2)


class BacklogCollector:
    """The backlog gauges, read at scrape time; a source that cannot answer is left out
    (and logged), never fails the scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from self._database()
        yield from self._redis()

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only, never at registration

    def _database(self) -> Iterator[Metric]:
        try:
            backlog = selectors.backlog(timeout=SCRAPE_TIMEOUT)
        except Exception as exc:  # a slow or absent database: the scrape still answers
            logger.warning("metrics: the backlog could not be read (%s)", type(exc).__name__)
            return
        yield GaugeMetricFamily("notifier_due_backlog", "Live notifications due now, not yet sent.", backlog.due)
        yield GaugeMetricFamily(
            "notifier_oldest_due_age_seconds",
            "How long the oldest due notification has waited.",
            backlog.oldest_due_age,
        )
        yield GaugeMetricFamily(
            "notifier_dead_letters", "Notifications failed in the last 24 hours.", backlog.dead_letters
        )

    def _redis(self) -> Iterator[Metric]:
        breakers = gate_reads.open_breakers()
        if breakers is not None:
            family = GaugeMetricFamily(
                "notifier_breaker_open", "1 while the target's circuit breaker is open.", labels=["target"]
            )
            for target in breakers:
                family.add_metric([target], 1)
            yield family
        age = gate_reads.stamp_age(metrics.BEAT_HEARTBEAT)
        if age is not None:
            yield GaugeMetricFamily(
                "notifier_beat_heartbeat_age_seconds", "Seconds since beat's schedules pass last ran.", age
            )


def exposition(*, backlog: bool) -> bytes:
    """The metrics in Prometheus's text format: this process group's, summed over its processes
    (one process's own outside gunicorn and a worker), and the backlog gauges if asked."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        if backlog:
            registry.register(BacklogCollector())
        return generate_latest(registry)
    text = generate_latest(REGISTRY)
    if backlog:
        extra = CollectorRegistry()
        extra.register(BacklogCollector())
        text += generate_latest(extra)
    return text


def authorized(header: str | None) -> bool:
    """Whether ``Authorization`` carries ``METRICS_TOKEN`` (always, when none is set)."""
    token = conf.metrics_token()
    if not token:
        return True
    return hmac.compare_digest(f"Bearer {token}".encode(), (header or "").encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Web's /metrics (outside the API: no DRF authentication or throttle)."""
    if not authorized(request.headers.get("Authorization")):
        return HttpResponse("unauthorized\n", status=401, content_type="text/plain", headers=_CHALLENGE)
    return HttpResponse(exposition(backlog=True), content_type=CONTENT_TYPE_LATEST)


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics"'}


class MetricsMiddleware:
    """Answers ``GET /metrics`` before Django's Host check (first in ``MIDDLEWARE``): Prometheus
    scrapes each pod by its address, which no ``ALLOWED_HOSTS`` lists. The check guards URLs
    built from the Host header; this answer builds none."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/metrics":
            return metrics_view(request)
        return self.get_response(request)


def worker_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """A worker's /metrics, as a WSGI application: counters and histograms only."""
    if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    if not authorized(environ.get("HTTP_AUTHORIZATION")):
        start_response("401 Unauthorized", [("Content-Type", "text/plain"), *_CHALLENGE.items()])
        return [b"unauthorized\n"]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [exposition(backlog=False)]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_worker_metrics(port: int, address: str = "") -> WSGIServer | None:
    """Serve ``worker_app`` on ``port`` in a daemon thread; ``None`` (logged) if the port is taken."""
    try:
        server = make_server(address, port, worker_app, _ThreadingServer, handler_class=_QuietHandler)
    except OSError as exc:
        logger.warning("metrics: port %d unavailable (%s); this worker serves no /metrics", port, exc)
        return None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("metrics: serving /metrics on port %d", port)
    return server
