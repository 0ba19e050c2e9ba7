"""Which notification and which trace a log line is about, and the two log formats.

The standard library's logging, not structlog: Celery, Django, gunicorn and httpx all log
through it, and their lines (Celery's "retry" and "failed" among them) must carry the same
fields as ours; a filter and a formatter on the one handler reach every line, where structlog
would reformat only the loggers written for it.

A task (or a request) binds the notification id and the trace id to context variables
(``bound``); ``ContextFilter`` copies them onto every record logged meanwhile, in that
thread or task, whoever logs it. ``LOG_FORMAT=plain`` appends ``notification=<id>
trace=<id>`` to such lines; ``json`` writes one object per line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

notification_id_var: ContextVar[str] = ContextVar("notification_id", default="")
trace_id_var: ContextVar[str] = ContextVar("trace_id", default="")
# Inside a Celery task, between its prerun and postrun signals (``bind(task=True)``, ``unbind``).
_in_task: ContextVar[bool] = ContextVar("in_task", default=False)

# X-Request-ID as the API takes it: short, and safe to echo in a header and a log line.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def valid_trace_id(value: str | None) -> str:
    """``value`` when it is a usable id (at most 64 of ``A-Z a-z 0-9 . _ -``), else ``""``."""
    return value if value and _REQUEST_ID.match(value) else ""


def new_trace_id() -> str:
    return uuid.uuid4().hex


def current_trace_id() -> str:
    """The trace id of the request or task running now, ``""`` outside one."""
    return trace_id_var.get()


@contextlib.contextmanager
def bound(*, notification_id: object = None, trace_id: str | None = None) -> Iterator[None]:
    """Log lines within carry this notification id and trace id (``None`` keeps the current one)."""
    tokens = []
    if notification_id is not None:
        tokens.append((notification_id_var, notification_id_var.set(str(notification_id))))
    if trace_id is not None:
        tokens.append((trace_id_var, trace_id_var.set(trace_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind(*, notification_id: object = None, trace_id: str | None = None, task: bool = False) -> None:
    """Like ``bound``, until ``unbind`` (Celery's prerun and postrun signals bracket a task)."""
    if task:
        _in_task.set(True)
    if notification_id is not None:
        notification_id_var.set(str(notification_id))
    if trace_id is not None:
        trace_id_var.set(trace_id)


def unbind() -> None:
    notification_id_var.set("")
    trace_id_var.set("")
    _in_task.set(False)


def bind_in_task(*, trace_id: str) -> None:
    """The rest of this task's lines (Celery's own retry and success lines after it) carry
    ``trace_id``; outside a task (a shell, a test) nothing changes, as nothing would unbind it."""
    if _in_task.get():
        trace_id_var.set(trace_id)


class ContextFilter(logging.Filter):
    """Puts ``notification_id`` and ``trace_id`` on every record (empty outside a context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "notification_id", ""):
            record.notification_id = notification_id_var.get()
        if not getattr(record, "trace_id", ""):
            record.trace_id = trace_id_var.get()
        return True


class PlainFormatter(logging.Formatter):
    """The usual line, with ``notification=<id> trace=<id>`` when it is about one; around
    another formatter (``inner``: Celery's, which names the task) or with a format string."""

    def __init__(self, fmt: str | None = None, *, inner: logging.Formatter | None = None) -> None:
        super().__init__(fmt)
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record) if self.inner else super().format(record)
        context = _context_of(record)
        suffix = " ".join(f"{name}={value}" for name, value in context.items())
        if not suffix:
            return line
        first, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{first} {suffix}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``timestamp``, ``level``, ``logger``, ``event`` (the message),
    ``notification_id`` and ``trace_id`` when set, and ``exception`` with its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        context = _context_of(record)
        entry.update({f"{name}_id": value for name, value in context.items()})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.processName and record.processName != "MainProcess":
            entry["process"] = record.processName
        return json.dumps(entry, default=str)


def _context_of(record: logging.LogRecord) -> dict[str, str]:
    # Read from the record (the filter's), else the variables: a handler without the filter.
    notification = getattr(record, "notification_id", "") or notification_id_var.get()
    trace = getattr(record, "trace_id", "") or trace_id_var.get()
    return {name: value for name, value in (("notification", notification), ("trace", trace)) if value}


def use_formats(logger: logging.Logger, log_format: str) -> None:
    """Our filter and formatter on ``logger``'s handlers (Celery's own, which it sets up itself)."""
    for handler in logger.handlers:
        handler.addFilter(ContextFilter())
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
        elif not isinstance(handler.formatter, PlainFormatter):
            handler.setFormatter(PlainFormatter(inner=handler.formatter or logging.Formatter()))
