"""A broadcast's expansion whose worker dies: the next worker finishes it, every row once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import services
from notifications.models import Broadcast, BroadcastStatus, Notification, Recipient
from testkit import wait_until

pytestmark = pytest.mark.worker

MEMBERS = 20_000


def _progress(broadcast_id) -> str:
    row = Broadcast.objects.get(id=broadcast_id)
    return f"{row.status}: {row.notifications} written, cursor {row.cursor!r}"


def test_worker_killed_mid_expansion_is_resumed_by_the_next_and_writes_each_row_once(alice, stack, figures):
    """SIGKILL of the expanding worker's whole group once a few batches are committed: its message
    goes back to the queue (acks_late), the next worker resumes after the last committed batch,
    and the broadcast ends with exactly one row per (recipient, channel)."""
    members = [f"user-{n:05d}" for n in range(MEMBERS)]
    Recipient.objects.bulk_create(
        [Recipient(owner=alice.user, external_id=rid, email=f"{rid}@example.com") for rid in members], batch_size=5000
    )
    services.topic_put(owner=alice.user, key="everyone", recipient_ids=members)
    worker = stack.worker()
    # Due in an hour: the rows wait in the broker, so the workers only expand.
    later = timezone.now() + timedelta(hours=1)
    broadcast, _ = services.broadcast_create(
        owner=alice.user,
        data={"topic": "everyone", "channels": ["console", "email"], "subject": "Hi", "body": "x", "send_at": later},
    )

    def written() -> int:
        return Broadcast.objects.get(id=broadcast.id).notifications

    wait_until(lambda: written() >= 6000, 60, lambda: f"{_progress(broadcast.id)}\n{stack.tails()}", interval=0.01)
    # Holding the broadcast's lock, the expander waits at its next batch: the kill lands mid-expansion.
    with transaction.atomic():
        at_kill = Broadcast.objects.select_for_update().get(id=broadcast.id)
        worker.kill_group()
    figures.note(f"killed at {at_kill.notifications} of {2 * MEMBERS} rows")
    assert at_kill.status == BroadcastStatus.EXPANDING, f"the expansion was over before the kill: {figures}"

    stack.worker()

    def done() -> bool:
        return Broadcast.objects.get(id=broadcast.id).status == BroadcastStatus.DONE

    wait_until(done, 60, lambda: f"{_progress(broadcast.id)}\n{stack.tails()}")
    finished = Broadcast.objects.get(id=broadcast.id)
    rows = Notification.objects.filter(broadcast=finished)
    pairs = set(rows.values_list("to", "channel"))
    figures.created = rows.count()
    figures.note(f"{finished.notifications} written, {finished.skipped} skipped")
    assert figures.created == len(pairs) == 2 * MEMBERS, figures
    assert pairs == {(rid, channel) for rid in members for channel in ("console", "email")}, figures
    assert (finished.notifications, finished.skipped) == (2 * MEMBERS, 0), figures
