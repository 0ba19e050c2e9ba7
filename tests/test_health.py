"""The probes a load balancer and an operator use: /healthz (alive) and /readyz (dependencies).

The run's environment points the broker and the cache at the real RabbitMQ and Redis; the
"down" cases point them at a closed local port, as a stopped server looks to the process.
A broken database is left out: it cannot be broken safely under the test's own connection.
"""

from __future__ import annotations

import json
import time

import pytest
from celery import current_app

from testkit import free_port
from tests.test_settings import start

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """The Celery app's broker points at a closed port, as if RabbitMQ had stopped; yields the real URL.

    Celery reads ``CELERY_BROKER_URL`` from the environment before its own configuration,
    so both are pointed away (``monkeypatch`` restores the environment at teardown).
    """
    conf = current_app.conf
    real_url = conf.broker_url
    saved = conf.broker_url, conf.broker_write_url
    closed = f"amqp://guest:guest@127.0.0.1:{free_port()}//"  # nothing listens there
    monkeypatch.setenv("CELERY_BROKER_URL", closed)
    conf.broker_url = closed
    conf.broker_write_url = None
    try:
        yield real_url
    finally:
        conf.broker_url, conf.broker_write_url = saved


def _get(client, path: str):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_healthz_answers_ok_without_credentials(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency_ok(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["down"] == []
    assert body["checks"] == {"database": "ok", "broker": "ok", "redis": "ok"}


def test_readyz_names_the_broker_when_it_is_down(client, broker_down):
    response, elapsed = _get(client, "/readyz")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["broker"]
    assert body["checks"]["broker"] == "down"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "ok"
    assert elapsed < 5, f"a probe must answer fast, took {elapsed:.1f}s"


def test_readyz_recovers_when_the_broker_is_back(client, broker_down, monkeypatch):
    assert client.get("/readyz").status_code == 503

    monkeypatch.setenv("CELERY_BROKER_URL", broker_down)  # RabbitMQ is back
    current_app.conf.broker_url = broker_down

    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == "ok"


def test_readyz_names_redis_when_it_is_down(client, redis_down):
    response, elapsed = _get(client, "/readyz")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["redis"]
    assert body["checks"]["redis"] == "down"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"
    assert elapsed < 5, f"a probe must answer fast, took {elapsed:.1f}s"


def test_readyz_names_both_when_broker_and_redis_are_down(client, broker_down, redis_down):
    response, elapsed = _get(client, "/readyz")

    assert response.status_code == 503
    assert sorted(response.json()["down"]) == ["broker", "redis"]
    assert elapsed < 8, f"a probe must answer fast, took {elapsed:.1f}s"


def test_readyz_without_redis_reports_the_local_memory_cache(client, settings):
    """The embedded default has no Redis: that is a configuration, not an outage."""
    settings.REDIS_URL = ""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == "not configured (local-memory cache)"


READYZ = """
import django
django.setup()
from django.test import Client
response = Client().get("/readyz")
print(response.status_code)
print(response.content.decode())
"""


def test_readyz_names_what_is_down_without_the_error_that_names_hosts_and_users():
    """The probe needs no login: a driver's error text (host, port, user, password) stays in the log."""
    port = free_port()  # nothing listens there
    done = start(
        ["-c", READYZ],
        # The real PostgreSQL refuses a role it does not know, and says its name.
        DATABASE_URL="postgres://canary_db_user:canary-db-pass@localhost:5432/canary_db",
        CELERY_BROKER_URL=f"amqp://canary_mq_user:canary-mq-pass@localhost:{port}/canary_vhost",
        REDIS_URL=f"redis://canary_redis_user:canary-redis-pass@localhost:{port}/0",
    )

    assert done.returncode == 0, done.stderr[-3000:]
    status, body = done.stdout.strip().splitlines()[-2:]
    assert status == "503"
    assert json.loads(body) == {
        "status": "unavailable",
        "down": ["database", "broker", "redis"],
        "checks": {"database": "down", "broker": "down", "redis": "down"},
    }
    for secret in ("canary", "localhost", "127.0.0.1", "5432", str(port)):
        assert secret not in body
    assert 'role "canary_db_user" does not exist' in done.stderr  # the operator's log has it
