"""The floor of the end-to-end figure: the service's own Celery app plus a task that does nothing.

``celery -A bench.noop_app worker …`` (the Procfile's worker line with ``-A config``
replaced) runs with the same broker, quorum queues, acks_late, prefetch, pool,
concurrency, events and log level as the real worker; only the task differs.
"""

from config.celery import app

NOOP_TASK = "bench.noop"


@app.task(name=NOOP_TASK, acks_late=True, ignore_result=True)
def noop(notification_id: str, dispatch_token: str) -> None:
    return None


__all__ = ["NOOP_TASK", "app", "noop"]
