"""OpenTelemetry tracing, only with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set: nothing of
OpenTelemetry is imported otherwise (each package costs the processes memory).

One trace follows a notification: the Django request that creates it, the message
(Celery's instrumentation puts the context in the message's headers as it is published,
``send_task`` included), the task that delivers it, and the provider's HTTP call (httpx),
with the database's queries (psycopg) inside each. Spans leave in batches over OTLP/HTTP
(the exporter reads ``OTEL_EXPORTER_OTLP_ENDPOINT`` and the other ``OTEL_*`` variables), and
the batch is flushed when the process stops. Started per process after the fork: in each
gunicorn worker (``config.wsgi``) and each Celery pool process (``worker_process_init``).
"""

from __future__ import annotations

_provider = None


def start(service_name: str, *, web: bool = False) -> None:
    """Trace this process; ``web``: its Django requests too (before the WSGI app is made)."""
    global _provider
    if _provider is not None:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME, when set, overrides the name (Resource.create reads it).
    _provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(_provider)
    CeleryInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)
    if web:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        # Probes and scrapes every few seconds are not traces worth keeping.
        DjangoInstrumentor().instrument(excluded_urls="healthz,readyz,metrics")


def know_tasks() -> None:
    """Celery's instrumentation ends a publish's span only for a task this process knows by
    name; the web publishes by name (``send_task``) without importing the tasks, so import them
    (after Django is set up)."""
    import notifications.tasks  # noqa: F401


def stop() -> None:
    """Flush the spans not yet sent (a pool process leaves without running ``atexit``)."""
    if _provider is not None:
        _provider.shutdown()
