from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from notifications.dispatch import queue_for
from notifications.models import Priority
from notifier import registry
from testkit import Proc, celery_worker_argv, free_port
from tests import factories
from tests.fakes.push import push  # noqa: F401  the push services' stand-in, for any test
from tests.sink import Sink

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def broker_topology():
    """Queues and delayed-delivery exchanges in this run's vhost, as `release` does."""
    call_command("setup_broker", stdout=io.StringIO())


def _purge_delivery_queues() -> None:
    from celery import current_app

    with current_app.connection_for_write() as connection:
        channel = connection.channel()
        for priority in Priority.values:
            channel.queue_purge(queue_for(priority))
        channel.close()


@pytest.fixture
def empty_queues():
    """No message waits in notify.high/normal/low: earlier tests of this run (no worker) leave some."""
    _purge_delivery_queues()


@pytest.fixture
def backlog(empty_queues):
    """Publish a message to a priority's queue, with no worker to take it: that queue is behind."""
    from celery import current_app

    def make(priority: str) -> None:
        current_app.send_task("notifications.deliver", args=["backlog", "backlog"], queue=queue_for(priority))

    yield make
    _purge_delivery_queues()


@pytest.fixture
def redis_down(settings):
    """The cache (and REDIS_URL) point at a closed port, as if Redis had stopped.

    Changing CACHES through the ``settings`` fixture makes Django drop its cache connections,
    so ``django.core.cache.cache`` is rebuilt from the new settings, and again at teardown.
    """
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there: refused at once
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": url},
    }


@pytest.fixture(autouse=True)
def fresh_providers():
    """Providers are built from settings once per process; rebuild them per test."""
    registry.reset()
    yield
    registry.reset()


@pytest.fixture
def allow_private(settings):
    """The sink listens on loopback: allow it, as an operator would for a local target."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    registry.reset()


def _client_for(username: str) -> APIClient:
    user = get_user_model().objects.create_user(username=username)  # no password: hashing one costs ~0.3 s
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.user = user
    return client


@pytest.fixture
def alice(db) -> APIClient:
    return _client_for("alice")


@pytest.fixture
def bob(db) -> APIClient:
    return _client_for("bob")


@pytest.fixture
def make_notification(db):
    """``tests.factories.notification``: a row with a default for every required field; pass any field."""
    return factories.notification


@pytest.fixture
def sink():
    server = Sink().start()
    yield server
    server.stop()


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Start real worker processes on this run's database and vhost; stopped at teardown."""
    workers: list[Proc] = []

    def start(*args: str, **overrides: str) -> Proc:
        """``celery -A config worker`` as the Procfile runs it, in its own process group; once it is ready."""
        env = {**os.environ, "DATABASE_URL": database_url(), "WEBHOOK_ALLOW_PRIVATE": "true", **overrides}
        name = f"worker-{len(workers)}"
        worker = Proc(name, celery_worker_argv("test", 2, *args), env, tmp_path / f"{name}.log")
        workers.append(worker)
        worker.wait_for_log(" ready.")
        return worker

    yield start
    for worker in workers:
        worker.stop()
