"""With OTEL_EXPORTER_OTLP_ENDPOINT set, one trace follows a notification: the web's Django
request, the worker's task, and the provider's HTTP call, parent-linked, exported over
OTLP/HTTP to a local collector stand-in."""

from __future__ import annotations

import json

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from testkit import wait_until
from tests.conftest import database_url
from tests.observability.live import start_gunicorn, token_of
from tests.sink import LocalHttpServer, Received, Reply
from tests.test_settings import start

pytestmark = pytest.mark.worker


class Collector(LocalHttpServer):
    """An OpenTelemetry collector's OTLP/HTTP receiver: takes ``POST /v1/traces``."""

    def reply_to(self, request: Received) -> Reply:
        ok = request.method == "POST" and request.path == "/v1/traces"
        return Reply(200 if ok else 404, {"Content-Type": "application/x-protobuf"}, b"")

    def spans(self) -> list[Span]:
        found = []
        for request in list(self.requests):
            export = ExportTraceServiceRequest.FromString(request.body)
            for resource in export.resource_spans:
                for scope in resource.scope_spans:
                    found.extend(scope.spans)
        return found


@pytest.fixture
def collector():
    server = Collector().start()
    yield server
    server.stop()


def ancestors(span: Span, by_id: dict[bytes, Span]) -> list[Span]:
    chain = []
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        chain.append(span)
    return chain


def test_one_trace_covers_the_request_the_task_and_the_provider_call(
    alice, sink, allow_private, start_worker, collector, tmp_path
):
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    start_worker(**otel)
    web, base = start_gunicorn(
        database_url(), tmp_path / "web.log", workers=1, WEBHOOK_ALLOW_PRIVATE="true", LOG_FORMAT="json", **otel
    )
    try:
        created = httpx.post(
            f"{base}/api/v1/notifications/",
            json={"channel": "webhook", "recipient": sink.url},
            headers={"Authorization": f"Token {token_of(alice)}", "X-Request-ID": "traced-1"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        sink.wait_for(1)

        def linked() -> tuple[Span, Span, Span, dict[bytes, Span]] | None:
            # The worker may also run messages earlier tests left in the run's vhost, each in a
            # trace of its own: look for the run and the call in the request's trace.
            spans = collector.spans()
            by_id = {span.span_id: span for span in spans}
            for server in [s for s in spans if s.kind == Span.SPAN_KIND_SERVER and "POST" in s.name]:
                traced = [s for s in spans if s.trace_id == server.trace_id]
                run = [s for s in traced if s.kind == Span.SPAN_KIND_CONSUMER and s.name == "run/notifications.deliver"]
                call = [s for s in traced if s.kind == Span.SPAN_KIND_CLIENT and s.name == "POST" and _to(s, sink.url)]
                if run and call:
                    return server, run[0], call[0], by_id
            return None

        server, run, call, by_id = wait_until(
            linked, 30, lambda: f"spans: {[(s.name, s.trace_id.hex()) for s in collector.spans()]}"
        )
        assert server in ancestors(run, by_id)  # through the publish's span
        assert run in ancestors(call, by_id)
        assert not server.parent_span_id  # the trace starts at the request
        web_lines = [json.loads(line) for line in web.text().splitlines() if line.strip()]  # all JSON
        access = [line["event"] for line in web_lines if line["logger"] == "gunicorn.access"]
        assert any('"POST /api/v1/notifications/' in event and "request_id=traced-1" in event for event in access)
    finally:
        web.stop()


def _to(span: Span, url: str) -> bool:
    return any(attribute.value.string_value == url for attribute in span.attributes)


def test_without_the_endpoint_no_tracing_is_imported():
    # redis-py imports OpenTelemetry's metrics API and SDK by itself when they are installed;
    # the tracing SDK, the exporter and the instrumentations come only with the endpoint.
    tracing = ("opentelemetry.sdk.trace", "opentelemetry.exporter", "opentelemetry.instrumentation")
    modules = f"import sys; print(sorted(name for name in sys.modules if name.startswith({tracing!r})))"
    done = start(["-c", f"import config.wsgi, notifications.tasks, notifications.worker_signals; {modules}"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
