"""The Celery app. Every Celery setting is a ``CELERY_*`` Django setting.

A worker (``celery -A config worker``) chooses its metrics' directory here, first: this
module is what the command imports before anything else, and Django's own ``worker_init``
handler (connected when the app is made) imports the app's modules, and prometheus_client
with them, before a ``worker_init`` handler of ours would run. Its signal handlers
(``notifications.worker_signals``) are connected here too.
"""

import os
import sys

from celery import Celery

from config import metrics_dir

if "worker" in sys.argv[1:]:
    metrics_dir.clean(metrics_dir.choose("worker"))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("notifier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

import notifications.worker_signals  # noqa: E402, F401  connects the worker's signal handlers
