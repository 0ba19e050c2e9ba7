"""A broadcast's expansion: its recipients, in id order, become notifications, a batch at a time.

Each batch is one transaction that locks the broadcast's row, reads the next ``BATCH`` recipient
ids after ``cursor`` and their profiles, writes one notification per (recipient, channel) the
profile has an address for and its preferences allow (COPY), and moves ``cursor`` and the
counts; its rows are published on commit, as ``deliver_batch`` messages sharing the batch's
token (the first batch's; later ones when the run ends, see ``broadcast_expand``). So a batch is
written whole or not at all, an expansion cut short resumes after its last
committed batch, and a second expander of the same broadcast waits on the lock and then finds
the cursor moved: it never writes a row twice (the unique (broadcast, to, channel) is the last
net). A cancelled broadcast's next batch finds ``cancelled`` under that lock and stops.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifications import audience, conf
from notifications.dispatch import Dispatch
from notifications.exceptions import ContentInvalid
from notifications.models import Broadcast, BroadcastStatus, Template, Topic
from notifications.services.broadcast_rows import Profile, RowMaker, batch_after
from notifications.services.fastpaths import insert_values
from notifications.services.publishing import publish_on_commit, publish_or_leave_to_sweep
from notifications.services.templates import rendered_content

logger = logging.getLogger(__name__)

# Recipients per batch (each up to one row per channel): a transaction of a few tens of ms.
BATCH = 1000


@dataclass
class _Run:
    """What one expansion run reads once, not once per batch or per recipient."""

    owner: AbstractBaseUser
    template: Template | None
    topic_id: int | None
    render_errors: int = field(default=0)


def _rendered(broadcast: Broadcast, run: _Run, channel: str, profile: Profile) -> dict[str, Any] | None:
    """The row's rendered fields for this recipient and channel, in the recipient's locale
    (unless the broadcast gives one); ``None`` when it cannot be rendered (logged)."""
    content = broadcast.content
    item = {
        "channel": channel,
        "template": content["template"],
        "data": content.get("data") or {},
        "locale": content.get("locale") or profile.locale,
        "payload": content.get("payload"),
    }
    try:
        if run.template is None:
            raise ContentInvalid({"template": [f"No template named {content['template']!r}."]})
        context = {"recipient": audience.template_context(profile)}
        done = rendered_content(owner=run.owner, item=item, context=context, template=run.template)
        return {part: done[part] for part in ("subject", "body", "html", "template_version", "locale")}
    except ContentInvalid as exc:
        run.render_errors += 1
        logger.warning(
            "broadcast %s: recipient %r on %s skipped: %s", broadcast.id, profile.external_id, channel, exc.errors
        )
        return None


def _common(broadcast: Broadcast, content: dict[str, Any]) -> dict[str, Any]:
    """The fields every row of a batch shares (the rendered ones are set per row)."""
    now = timezone.now()
    requested = parse_datetime(content["send_at"]) if content.get("send_at") else None
    send_at = max(requested or now, now)
    return {
        "owner_id": broadcast.owner_id,
        "broadcast_id": broadcast.id,
        "subject": content.get("subject") or "",
        "body": content.get("body") or "",
        "payload": content.get("payload"),
        "template": content.get("template") or "",
        "data": content.get("data"),
        "locale": content.get("locale") or "",
        "category": content.get("category") or "",
        "priority": content.get("priority") or "normal",
        "max_attempts": content.get("max_attempts") or conf.max_attempts(),
        "send_at": send_at,
        "next_attempt_at": send_at,
        "last_enqueued_at": now,
        # Shared: the batch's rows travel together in deliver_batch messages.
        "dispatch_token": uuid.uuid4(),
    }


def _rows(
    broadcast: Broadcast, run: _Run, batch: list[tuple[str, Profile | None]]
) -> tuple[list[list[Any]], list[Dispatch], int]:
    """The batch's notification rows, their messages, and how many (recipient, channel) pairs
    were skipped."""
    maker = RowMaker(**_common(broadcast, broadcast.content))
    category = broadcast.content.get("category") or ""
    templated = bool(broadcast.content.get("template"))
    rows: list[list[Any]] = []
    skipped = 0
    for recipient_id, profile in batch:
        for channel in broadcast.channels:
            addresses = audience.addresses_for(profile, channel) if profile is not None else []
            if not addresses or not audience.allows(profile.preferences, category=category, channel=channel):
                skipped += 1
                continue
            rendered = _rendered(broadcast, run, channel, profile) if templated else {}
            if rendered is None:
                skipped += 1
                continue
            rows.append(maker.make(to=recipient_id, channel=channel, recipient=addresses[0], **rendered))
    return rows, [maker.dispatch_of(row) for row in rows], skipped


def _expand_batch(broadcast_id: uuid.UUID | str, run: _Run, held: list[Dispatch] | None = None) -> bool:
    """Write the next batch of a broadcast's notifications; True while more remain. Its rows are
    published on commit, or, given ``held``, added to it once written, for the caller to publish.

    Does nothing (False) for a broadcast that is gone, done or cancelled.
    """
    with transaction.atomic():
        broadcast = Broadcast.objects.select_for_update().filter(id=broadcast_id).first()
        if broadcast is None or broadcast.status != BroadcastStatus.EXPANDING:
            return False
        batch = batch_after(broadcast, topic_id=run.topic_id, size=BATCH)
        rows, dispatches, skipped = _rows(broadcast, run, batch)
        insert_values(rows)
        if batch:
            broadcast.cursor = batch[-1][0]
        broadcast.notifications += len(rows)
        broadcast.skipped += skipped
        if len(batch) < BATCH:
            broadcast.status = BroadcastStatus.DONE
            broadcast.finished_at = timezone.now()
        broadcast.save(update_fields=["cursor", "notifications", "skipped", "status", "finished_at", "updated_at"])
        if held is None:
            publish_on_commit(dispatches)
    if held is not None:
        held.extend(dispatches)  # committed: the batch's transaction ended without an error
    return broadcast.status == BroadcastStatus.EXPANDING


def _start(broadcast_id: uuid.UUID | str) -> _Run | None:
    broadcast = Broadcast.objects.filter(id=broadcast_id).first()
    if broadcast is None or broadcast.status != BroadcastStatus.EXPANDING:
        return None
    owner = get_user_model().objects.get(pk=broadcast.owner_id)
    name = broadcast.content.get("template")
    template = Template.objects.filter(owner=owner, name=name).first() if name else None
    topic = Topic.objects.filter(owner=owner, key=broadcast.topic).first() if broadcast.topic else None
    return _Run(owner=owner, template=template, topic_id=topic.id if topic else None)


def broadcast_expand(*, broadcast_id: uuid.UUID | str, budget: timedelta) -> bool:
    """Expand batches until the broadcast is done (or cancelled, or gone), or ``budget`` is
    spent: at least one batch, so a zero budget writes exactly one. True when more remains (the
    caller hands the rest on in a new message). The template and the topic are read once per
    call; a template edited meanwhile renders the batches of the next call only.

    The first batch is published as it commits, so the first deliveries start at once; the
    later ones when the call ends (or once held for half the missed-sweep's grace, so the sweep
    never takes them for lost). Delivery, not writing, sets the pace of a large broadcast
    (100,000 rows take minutes to send and seconds to write), so holding them back delays no
    last delivery, while publishing each batch as it commits set every worker process
    delivering beside the one writing: on 2 cores, writing 100,000 rows took 34 s instead of
    about 10. A call cut short leaves its held rows due and unpublished; the missed-sweep
    publishes them, as it does any row whose message was lost.
    """
    run = _start(broadcast_id)
    if run is None:
        return False
    deadline = time.monotonic() + budget.total_seconds()
    held: list[Dispatch] = []
    # Held rows look lost to the missed-sweep once unpublished for its grace: publish before.
    hold_for = conf.sweep_grace().total_seconds() / 2
    more = _expand_batch(broadcast_id, run)
    held_since = time.monotonic()
    while more and time.monotonic() < deadline:
        more = _expand_batch(broadcast_id, run, held)
        if time.monotonic() - held_since >= hold_for:
            publish_or_leave_to_sweep(held)
            held, held_since = [], time.monotonic()
    publish_or_leave_to_sweep(held)
    if run.render_errors:
        logger.warning("broadcast %s: %d pair(s) skipped as they could not render", broadcast_id, run.render_errors)
    return more
