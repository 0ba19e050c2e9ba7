"""Notes without a row: the webhook sink's capacity (a check of the harness, not a figure) and
the round trips (SQL, Redis, AMQP) of each API request and of a delivery."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.harness import API, BULK, DAY, Bench, iso
from bench.httpclient import Connection, build_request
from bench.report import Row
from bench.stats import percentile

# --- sink capacity -------------------------------------------------------------------


def sink_check(b: Bench) -> list[Row]:
    """The sink must not be the bottleneck: its request rate under load, and its receive overhead."""
    st = b.stack
    st.start_sink()
    s = b.sizes
    raw = build_request(
        "POST",
        "/hook",
        "127.0.0.1",
        st.sink_port,
        {"content-type": "application/json", "webhook-id": "capacity-check"},
        b'{"n":1}',
    )
    result, cores = b.load(
        [raw], concurrency=8, duration=s.sink_capacity_s, warmup=0.2, meter=("sink",), port=st.sink_port
    )
    overhead = sink_overhead(b)
    b.facts["sink_rps"] = result["rps"]
    b.facts["sink_overhead"] = (percentile(overhead, 50), percentile(overhead, 99))
    sink_core = (cores or {}).get("sink", 0)
    b.note(
        "Harness: the webhook sink",
        f"- Capacity: at least {result['rps']:,.0f} req/s (8 keep-alive connections, {s.sink_capacity_s:g} s; "
        f"the sink used {sink_core:.2f} core, the client {result['client_cores']:.2f}); latency p50 "
        f"{result['latency']['p50']:.2f} ms, p99 {result['latency']['p99']:.2f} ms. "
        "Deliveries below are far under this.",
        f"- Receive overhead (sender's clock → the sink's recorded receive time, sequential, idle): p50 "
        f"{percentile(overhead, 50):.3f} ms, p99 {percentile(overhead, 99):.3f} ms. Lateness figures include it.",
    )
    return []


def sink_overhead(b: Bench) -> list[float]:
    """Receive overhead (ms): sequential requests stamped with the sender's clock."""
    st = b.stack
    b.sink("POST", "/_reset")
    conn = Connection("127.0.0.1", st.sink_port)
    for i in range(200):
        stamped = build_request(
            "POST",
            "/hook",
            "127.0.0.1",
            st.sink_port,
            {"webhook-id": f"overhead-{i}", "x-sent-at": repr(time.time())},
            b"{}",
        )
        b.loop.run_until_complete(conn.request(stamped))
    conn.close()
    overhead = b.sink("GET", "/_overhead")["ms"]
    b.sink("POST", "/_reset")
    return overhead


# --- per-request round trips -----------------------------------------------------------


def round_trips(b: Bench) -> list[Row]:
    """SQL queries, Redis commands and AMQP publishes per API request and per delivery, in-process."""
    b.django()
    b.stack.start_sink()
    from django.test import Client

    from notifications import services
    from notifier import registry

    token = b.token("bench-roundtrips")
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    day = iso(time.time() + DAY.total_seconds())
    one = {"channel": "console", "recipient": "bench", "body": "hello", "send_at": day}
    lines = ["| request | SQL queries | Redis commands | AMQP publishes |", "|---|---|---|---|"]
    client.get("/healthz")
    client.post(API, one, content_type="application/json")  # warm: first request imports and caches
    lines.append(count_round_trips("GET /healthz", lambda: client.get("/healthz")))
    lines.append(
        count_round_trips(
            "POST notifications/ (console, a day ahead)",
            lambda: client.post(API, one, content_type="application/json"),
        )
    )
    many = {"notifications": [{**one, "body": f"n{i}"} for i in range(100)]}
    lines.append(
        count_round_trips("POST bulk/ (100 items)", lambda: client.post(BULK, many, content_type="application/json"))
    )
    lines.append(count_round_trips("GET notifications/ (page of 50)", lambda: client.get(API + "?page_size=50")))
    registry.reset()
    row = due_webhook(b, 1)
    services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)  # warm the provider
    row2 = due_webhook(b, 2)
    lines.append(
        count_round_trips(
            "deliver (services.notification_deliver, webhook to the sink)",
            lambda: services.notification_deliver(notification_id=row2.id, dispatch_token=row2.dispatch_token),
        )
    )
    b.note(
        "Per-request round trips",
        "Counted in-process (Django test client; the delivery service called directly) on the run's database,",
        "Redis and broker. AMQP publishes include Celery's `task-sent` events (`CELERY_TASK_SEND_SENT_EVENT`);",
        "the real worker adds its `-E` task events (received, started, succeeded) and the ack per message.",
        "",
        *lines,
    )
    return []


def count_round_trips(label: str, call: Callable[[], Any]) -> str:
    """The table's row for ``call``: the SQL queries, Redis commands and AMQP publishes it makes."""
    import kombu.messaging
    import redis
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts: Counter[str] = Counter()
    publishes: list[str] = []
    real_execute = redis.Redis.execute_command
    real_publish = kombu.messaging.Producer.publish

    def count_redis(self, *args, **kwargs):
        counts["redis"] += 1
        return real_execute(self, *args, **kwargs)

    def count_publish(self, body, routing_key=None, *args, exchange=None, **kwargs):
        name = exchange if isinstance(exchange, str) else getattr(exchange or self.exchange, "name", "?")
        publishes.append(name or "(default)")
        return real_publish(self, body, routing_key, *args, exchange=exchange, **kwargs)

    redis.Redis.execute_command = count_redis
    kombu.messaging.Producer.publish = count_publish
    try:
        with CaptureQueriesContext(connection) as queries:
            call()
    finally:
        redis.Redis.execute_command = real_execute
        kombu.messaging.Producer.publish = real_publish
    kinds = Counter(q["sql"].split(None, 1)[0].upper() for q in queries.captured_queries)
    by_exchange = ", ".join(f"{n}× {name}" for name, n in Counter(publishes).items()) or "none"
    return (
        f"| {label} | {len(queries.captured_queries)} ({', '.join(f'{n} {k}' for k, n in kinds.items())}) "
        f"| {counts['redis']} | {len(publishes)} ({by_exchange}) |"
    )


def due_webhook(b: Bench, n: int) -> Any:
    """A webhook to the sink, due now, made directly in the database (a ``Notification``)."""
    from notifications.models import Notification

    now = datetime.now(UTC)
    return Notification.objects.create(
        owner_id=b.user_id("bench-roundtrips"),
        channel="webhook",
        recipient=b.sink_url,
        payload={"n": n},
        send_at=now,
        next_attempt_at=now,
        max_attempts=8,
    )
