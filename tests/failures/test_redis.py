"""Redis, where the gates keep their breakers, host slots and rates, stops mid-burst: the
gates open, every notification is still sent, none twice."""

from __future__ import annotations

import os
import shutil

import pytest

from testkit import Proc, free_port
from tests.failures.figures import assert_duplicates_explained, create_burst, tally, wait_all_sent, wait_receipts
from tests.sink import Reply

pytestmark = pytest.mark.worker


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own, for the workers' gates, so stopping it stops no one else's."""
    port = free_port()
    argv = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    argv += ["--save", "", "--appendonly", "no"]
    server = Proc("redis", argv, dict(os.environ), tmp_path / "redis.log")
    server.wait_for_log("Ready to accept connections")
    yield server, f"redis://127.0.0.1:{port}/0"
    server.stop()


def test_redis_stopped_mid_burst_the_gates_open_and_nothing_is_lost(
    alice, sink, allow_private, stack, figures, own_redis
):
    server, redis_url = own_redis
    sink.default = Reply(200, delay=0.1)  # sends overlap: the host's slots are in use when Redis goes
    worker = stack.worker(concurrency=4, REDIS_URL=redis_url, WEBHOOK_HOST_CONCURRENCY="2")
    stack.beat(REDIS_URL=redis_url)
    ids = create_burst(alice, sink, 100)
    wait_receipts(sink, 10, figures, stack)
    server.kill_group()  # Redis gone, with the host slots and breakers it held
    figures.note(f"Redis killed after {len(sink.requests)} receipts")

    wait_all_sent(ids, sink, figures, stack, timeout=120)
    tally(figures, ids, sink)
    assert figures.lost == 0 and figures.duplicated == 0, figures
    assert "gates unavailable" in worker.text(), worker.tail()
    assert_duplicates_explained(ids, sink, figures, stack)
