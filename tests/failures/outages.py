"""RabbitMQ and PostgreSQL stopped on purpose, and always started again: the outages the
failure tests inject, and what they read from the servers (queue depths, the cluster)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pytest
from django.conf import settings

from testkit import wait_until


def vhost() -> str:
    return unquote(urlsplit(settings.CELERY_BROKER_URL).path[1:]) or "/"


def rabbitmqctl(*args: str, timeout: float = 120) -> str:
    if not shutil.which("rabbitmqctl"):
        pytest.skip("needs rabbitmqctl (RabbitMQ's CLI) on the PATH to inspect, stop and start RabbitMQ")
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)} failed: {done.stdout}{done.stderr}"
    return done.stdout


def queue_depths() -> dict[str, tuple[int, int]]:
    """This run's queues: name → (messages ready + unacked, unacked)."""
    out = rabbitmqctl("-q", "list_queues", "-p", vhost(), "--no-table-headers", "name", "messages",
                      "messages_unacknowledged")  # fmt: skip
    depths = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            depths[parts[0]] = (int(parts[1]), int(parts[2]))
    return depths


@contextlib.contextmanager
def rabbitmq_stopped() -> Iterator[None]:
    """RabbitMQ's app stopped (connections refused) for the block; always started again after."""
    rabbitmqctl("stop_app")
    try:
        yield
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")


def pg_cluster() -> list[str]:
    """The local cluster (version, name) serving this run's database, from ``pg_lsclusters``."""
    if not (shutil.which("pg_lsclusters") and shutil.which("pg_ctlcluster")):
        pytest.skip("needs a local PostgreSQL cluster managed by pg_ctlcluster to stop and start it")
    port = str(settings.DATABASES["default"]["PORT"] or 5432)
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        version, name, cluster_port, *_ = line.split()
        if cluster_port == port:
            return [version, name]
    pytest.skip(f"no local PostgreSQL cluster on port {port} (pg_lsclusters: {out.strip()!r})")


def _pg_accepts() -> bool:
    import psycopg

    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres", connect_timeout=2
        ).close()
    except psycopg.OperationalError:
        return False
    return True


@contextlib.contextmanager
def postgres_stopped() -> Iterator[None]:
    """PostgreSQL stopped for the block; always started again after, and accepting connections."""
    from django.db import connections

    cluster = pg_cluster()
    connections.close_all()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "stop"], check=True, timeout=120)
    try:
        yield
    finally:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "start"], check=False, timeout=120)
        wait_until(_pg_accepts, 60, lambda: "PostgreSQL does not accept connections after its restart")
        connections.close_all()  # this process's connection died with the server
