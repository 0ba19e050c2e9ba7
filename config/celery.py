"""The Celery app. Every Celery setting is a ``CELERY_*`` Django setting.

A worker (``celery -A config worker``) chooses its metrics' directory here, first: this
module is what the command imports before anything else, and Django's own ``worker_init``
handler (connected when the app is made) imports the app's modules, and prometheus_client
with them, before a ``worker_init`` handler of ours would run. Its signal handlers
(``notifications.worker_signals``) are connected here too.
"""

import os
import sys
from pathlib import Path

from celery import Celery

from config import metrics_dir


def _is_worker(argv: list[str]) -> bool:
    """``celery … worker`` (or ``python -m celery … worker``), not another command that says it."""
    program = Path(argv[0]) if argv else Path()
    celery = program.name == "celery" or (program.name == "__main__.py" and program.parent.name == "celery")
    return celery and "worker" in argv[1:]


if _is_worker(sys.argv):
    metrics_dir.clean(metrics_dir.choose("worker"))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("notifier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

import notifications.worker_signals  # noqa: E402, F401  connects the worker's signal handlers
