"""gunicorn's configuration (``gunicorn -c config/gunicorn.py``): the metrics' directory of
this web process group (``config.metrics_dir``), chosen as the master reads this file, before
any worker imports prometheus_client; emptied once at start; a worker's exit is noted."""

from config import metrics_dir

_directory = metrics_dir.choose("web")


def on_starting(server) -> None:
    metrics_dir.clean(_directory)


def child_exit(server, worker) -> None:
    metrics_dir.mark_dead(worker.pid)


def worker_exit(server, worker) -> None:
    from config import tracing

    tracing.stop()
