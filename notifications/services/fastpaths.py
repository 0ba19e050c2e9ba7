"""The three writes that bypass the ORM, each for a measured reason.

Everything here has a plain-ORM equivalent that gives the same rows; each
docstring names it and the cost that ruled it out. Only names from the models'
own metadata are interpolated into SQL; every value is a parameter.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from notifications import metrics
from notifications.logcontext import current_trace_id
from notifications.models import LIVE_STATUSES, DeliveryAttempt, Notification, Status

_FIELDS = Notification._meta.concrete_fields
# The lease ends by the database's clock, which the stuck-sweep reads too: a host whose
# clock runs ahead or behind cannot shorten a lease, nor take over work in flight.
# SQLite (the embedded default) runs on one machine, with one clock: the process's.
_LEASE_END = {"postgresql": "statement_timestamp() + make_interval(secs => %s)"}
_CLAIM_SQL = """
    UPDATE {table}
    SET status = %s, attempts = attempts + 1, attempts_total = attempts_total + 1,
        lease_expires_at = {lease_end}, next_attempt_at = NULL, updated_at = %s
    WHERE id = %s AND dispatch_token = %s AND status IN (%s, %s) AND next_attempt_at <= %s
    RETURNING {columns}
"""
_CONVERTERS: dict[str, list[tuple]] = {}


def _connection():
    return connections[Notification.objects.db]


def insert_many(notifications: list[Notification]) -> None:
    """INSERT new rows in one go: PostgreSQL's COPY, else ``bulk_create``.

    ORM equivalent: ``Notification.objects.bulk_create(notifications)``, used on
    SQLite. It prepares every value of every field in Python (about 75 ms of CPU
    for 1,000 rows, a third of a bulk request); COPY takes the same rows for
    about 15 ms. Values are what ``save()`` would write: the auto-now times (one
    ``now`` for the whole statement, as one INSERT would have), and the JSON
    fields adapted by the backend. Which fields need what is decided once per
    call, not per row and field: a broadcast's expansion writes 100,000 rows.
    """
    connection = _connection()
    if connection.vendor != "postgresql" or not notifications:
        trace_id = current_trace_id()
        for notification in notifications:
            notification.trace_id = notification.trace_id or trace_id
        Notification.objects.bulk_create(notifications)
        _count([(n.channel, n.event_type) for n in notifications])
        return
    now = timezone.now()
    for notification in notifications:  # the caller reads the times back, as after save()
        for index in _STAMPED:
            notification.__dict__[_ATTNAMES[index]] = now
    insert_values([[n.__dict__[attname] for attname in _ATTNAMES] for n in notifications], now=now)
    for notification in notifications:
        notification._state.adding = False
        notification._state.db = connection.alias


_ATTNAMES = [field.attname for field in _FIELDS]
_STAMPED = [
    index
    for index, field in enumerate(_FIELDS)
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
]
_JSON = [index for index, field in enumerate(_FIELDS) if field.get_internal_type() == "JSONField"]


def insert_values(rows: list[list[Any]], *, now: datetime | None = None) -> None:
    """``insert_many`` for rows given as values in the model's field order (``NOTIFICATION_FIELDS``),
    with no model instance built: a broadcast writes 100,000 rows, and Django's ``__init__`` per row
    was a third of its CPU. The times are stamped here; a JSON value is encoded once per object, so
    the payload a whole batch shares is encoded once, not once per row: as the JSON text COPY
    takes for a jsonb column, and ``None`` as SQL NULL, as a single create's ``save()`` stores it."""
    connection = _connection()
    if not rows:
        return
    _stamp_trace(rows)
    kinds = [(row[_CHANNEL], row[_EVENT_TYPE]) for row in rows]
    if connection.vendor != "postgresql":
        Notification.objects.bulk_create([Notification(*row) for row in rows])
        _count(kinds)
        return
    now = now or timezone.now()
    adapted: dict[int, Any] = {}
    columns = ", ".join(connection.ops.quote_name(field.column) for field in _FIELDS)
    statement = f"COPY {Notification._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for row in rows:
            for index in _STAMPED:
                row[index] = now
            for index in _JSON:
                value = row[index]
                key = id(value)
                if key not in adapted:  # the rows hold every value alive: an id is not reused meanwhile
                    adapted[key] = None if value is None else json.dumps(value, cls=_FIELDS[index].encoder)
                row[index] = adapted[key]
            copy.write_row(row)
    _count(kinds)


NOTIFICATION_FIELDS = _FIELDS
_CHANNEL, _EVENT_TYPE, _TRACE_ID = (_ATTNAMES.index(name) for name in ("channel", "event_type", "trace_id"))


def _stamp_trace(rows: list[list[Any]]) -> None:
    """Rows written without a trace id get the request's or task's (a broadcast's, a schedule's)."""
    trace_id = current_trace_id()
    if trace_id:
        for row in rows:
            row[_TRACE_ID] = row[_TRACE_ID] or trace_id


def _count(kinds: list[tuple[str, str]]) -> None:
    """Count the rows written: notifications by channel, event deliveries by type. (A
    transaction rolled back after it, rare, leaves them counted: counting on commit would cost
    every write a callback.)"""
    metrics.notifications_created(channel for channel, event_type in kinds if not event_type)
    metrics.events_created(event_type for _, event_type in kinds if event_type)


def claim_row(
    *, notification_id: uuid.UUID, dispatch_token: uuid.UUID, now: datetime, lease: timedelta
) -> Notification | None:
    """The claim: a live, due row with this token becomes ``sending``; the row as it now is, or ``None``.

    ORM equivalent: ``filter(id=…, dispatch_token=…, status__in=LIVE_STATUSES,
    next_attempt_at__lte=now).update(…)`` then a ``get()``. ``update()`` returns
    only a count, so that is two round trips where UPDATE … RETURNING (PostgreSQL,
    SQLite ≥ 3.35) is one; and the model is built from the cursor row directly,
    without RawQuerySet's per-query column mapping (a third of the claim's CPU).
    On PostgreSQL the lease ends by the database's clock (``_LEASE_END``).
    """
    connection = _connection()
    uuid_field, time_field = (Notification._meta.get_field(name) for name in ("id", "updated_at"))
    if connection.vendor in _LEASE_END:
        lease_end = lease.total_seconds()
    else:
        lease_end = time_field.get_db_prep_value(now + lease, connection)
    params = [
        Status.SENDING,
        lease_end,
        time_field.get_db_prep_value(now, connection),
        uuid_field.get_db_prep_value(notification_id, connection),
        uuid_field.get_db_prep_value(dispatch_token, connection),
        *LIVE_STATUSES,
        time_field.get_db_prep_value(now, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(connection.vendor), params)
        row = cursor.fetchone()
    if row is None:
        return None
    columns = zip(_converters(connection), row, strict=True)
    values = [_from_db(converters, value, connection) for converters, value in columns]
    return Notification.from_db(Notification.objects.db, None, values)


@cache
def _claim_sql(vendor: str) -> str:
    # Only names from the model's own metadata are interpolated; every value is a parameter.
    # Quoted: a column may be a reserved word (``to``). Double quotes: standard SQL, both backends.
    return _CLAIM_SQL.format(
        table=Notification._meta.db_table,
        lease_end=_LEASE_END.get(vendor, "%s"),
        columns=", ".join(f'"{field.column}"' for field in _FIELDS),
    )


def _converters(connection) -> list[tuple]:
    """Each column's converters, backend's then field's, as the SQL compiler finds them; once per backend."""
    if connection.vendor not in _CONVERTERS:
        columns = [field.get_col(Notification._meta.db_table) for field in _FIELDS]
        _CONVERTERS[connection.vendor] = [
            (column, *connection.ops.get_db_converters(column), *column.get_db_converters(connection))
            for column in columns
        ]
    return _CONVERTERS[connection.vendor]


def _from_db(converters: tuple, value: Any, connection) -> Any:
    column, *functions = converters
    for convert in functions:
        value = convert(value, column, connection)
    return value


def finish_attempt(*, notification: Notification, fields: dict[str, Any], attempt: DeliveryAttempt) -> bool:
    """Write an attempt's outcome if the claim still holds (status ``sending``, same attempt); True if it did.

    ORM equivalent, used on SQLite: in one transaction, ``filter(id=…,
    status="sending", attempts_total=…).update(**fields)`` and, if a row was
    updated, ``attempt.save()``. On PostgreSQL the conditional UPDATE and the
    attempt's INSERT are one statement (a data-modifying CTE), atomic without
    the transaction's BEGIN and COMMIT: two of the delivery's round trips.
    """
    connection = _connection()
    if connection.vendor == "postgresql":
        return _finish_in_one_statement(connection, notification, fields, attempt)
    with transaction.atomic():
        held = Notification.objects.filter(
            id=notification.id, status=Status.SENDING, attempts_total=notification.attempts_total
        ).update(**fields)
        if held:
            attempt.save(force_insert=True)
    return bool(held)


def _finish_in_one_statement(
    connection, notification: Notification, fields: dict[str, Any], attempt: DeliveryAttempt
) -> bool:
    model, attempts = Notification._meta, DeliveryAttempt._meta
    sets, params = [], []
    for name, value in fields.items():
        field = model.get_field(name)
        sets.append(f"{connection.ops.quote_name(field.column)} = %s")
        params.append(field.get_db_prep_value(value, connection))
    columns = ("notification_id", "number", "started_at", "finished_at", "outcome", "error", "provider")
    values = [attempts.get_field(name).get_db_prep_value(getattr(attempt, name), connection) for name in columns[1:]]
    sql = (
        f"WITH held AS (UPDATE {model.db_table} SET {', '.join(sets)} "  # noqa: S608
        "WHERE id = %s AND status = %s AND attempts_total = %s RETURNING id) "
        f"INSERT INTO {attempts.db_table} ({', '.join(attempts.get_field(c).column for c in columns)}) "
        f"SELECT id, {', '.join(['%s'] * len(values))} FROM held"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, notification.id, Status.SENDING, notification.attempts_total, *values])
        return cursor.rowcount == 1
