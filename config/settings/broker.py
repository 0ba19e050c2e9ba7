"""Celery on RabbitMQ (or the embedded filesystem broker): queues, delivery guarantees, the beat schedule."""

import os
from urllib.parse import urlsplit

from kombu import Exchange, Queue

from config.settings.env import VAR_DIR, env
from config.settings.notify import NOTIFY_SWEEP_INTERVAL
from notifications import task_names

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
    # Schedules' due occurrences (services.schedules_run_due): an occurrence is made within seconds.
    task_names.RUN_SCHEDULES: {
        "task": task_names.RUN_SCHEDULES,
        "schedule": 5.0,
        "options": {"queue": "notify.maintenance", "expires": 5},
    },
    # Digest windows a minute past their end (their close message was lost): closed now.
    task_names.SWEEP_DIGESTS: {
        "task": task_names.SWEEP_DIGESTS,
        "schedule": 30.0,
        "options": {"queue": "notify.maintenance", "expires": 30},
    },
}
CELERY_TIMEZONE = "UTC"
DJANGO_CELERY_BEAT_TZ_AWARE = True
