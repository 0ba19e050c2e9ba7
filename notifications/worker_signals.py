"""What a Celery worker does beside its tasks, on Celery's signals: its log lines' format and
context, its /metrics server, its processes' metrics bookkeeping and, with
``OTEL_EXPORTER_OTLP_ENDPOINT`` set, tracing in each pool process.

Every task runs with the trace id its message carries (``dispatch.TRACE_HEADER``; a new one
when it carries none), and ``deliver`` with its notification id, bound from ``task_prerun``
to ``task_postrun``: Celery logs a task's retry, failure and success between the two, so
those lines carry them too. Imported by ``config.celery``, before Django is set up: nothing
here imports a model at module level.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import signals

from notifications import conf, logcontext
from notifications.dispatch import TRACE_HEADER
from notifications.task_names import DELIVER


def trace_id_of(request: Any) -> str:
    """The trace id a task's message carries, ``""`` if none (or a malformed one)."""
    value = getattr(request, TRACE_HEADER, None) or (getattr(request, "headers", None) or {}).get(TRACE_HEADER)
    return logcontext.valid_trace_id(value if isinstance(value, str) else None)


@signals.task_prerun.connect
def _bind(task: Any = None, args: Any = None, **kwargs: Any) -> None:
    trace_id = trace_id_of(task.request) if task is not None else ""
    notification_id = args[0] if task is not None and task.name == DELIVER and args else None
    logcontext.bind(notification_id=notification_id, trace_id=trace_id or logcontext.new_trace_id(), task=True)


@signals.task_postrun.connect
def _unbind(**kwargs: Any) -> None:
    logcontext.unbind()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _formats(logger: logging.Logger | None = None, **kwargs: Any) -> None:
    if logger is not None:
        logcontext.use_formats(logger, conf.log_format())


@signals.worker_ready.connect
def _serve_metrics(**kwargs: Any) -> None:
    port = conf.worker_metrics_port()
    if port:
        from notifications.scrape import serve_worker_metrics

        serve_worker_metrics(port)


@signals.worker_process_init.connect
def _pool_process_started(**kwargs: Any) -> None:
    from django.conf import settings

    if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        from config import tracing

        tracing.start("notifier-worker")


@signals.worker_process_shutdown.connect
def _pool_process_exits(pid: int | None = None, **kwargs: Any) -> None:
    from config import metrics_dir

    metrics_dir.mark_dead(pid or os.getpid())
    from django.conf import settings

    if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        from config import tracing

        tracing.stop()
