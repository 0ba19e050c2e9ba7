"""Send dead letters again: ``failed`` notifications back to ``scheduled``, due now."""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications import selectors, services
from notifications.management.durations import duration
from notifications.models import FailureReason


class Command(BaseCommand):
    help = (
        "Requeue failed notifications, chosen by id, channel, failure reason, client or age. "
        "Each gets a fresh set of max_attempts. Without a filter, use --all."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("ids", nargs="*", type=uuid.UUID, help="notification ids")
        parser.add_argument("--channel", help="only this channel (webhook, email, …)")
        parser.add_argument("--reason", choices=FailureReason.values, help="only this failure reason")
        parser.add_argument("--owner", help="only this client (username)")
        parser.add_argument("--older-than", type=duration, help="failed at least this long ago (e.g. 2h, 7d)")
        parser.add_argument("--newer-than", type=duration, help="failed within this long (e.g. 30m, 1d)")
        parser.add_argument("--limit", type=int, help="at most this many, oldest failure first")
        parser.add_argument(
            "--all", dest="everything", action="store_true", help="every failed notification (needed without a filter)"
        )
        parser.add_argument("--dry-run", action="store_true", help="list what would be requeued; change nothing")

    def handle(self, *args, ids, channel, reason, owner, older_than, newer_than, limit, everything, dry_run, **options):
        if not (ids or channel or reason or owner or older_than or newer_than or everything):
            raise CommandError(
                "Name ids or a filter (--channel, --reason, --owner, --older-than, --newer-than), or --all."
            )
        now = timezone.now()
        rows = selectors.failed_list(
            ids=ids,
            channel=channel,
            reason=reason,
            owner_username=owner,
            failed_before=now - older_than if older_than else None,
            failed_after=now - newer_than if newer_than else None,
        )
        if limit:
            rows = rows[:limit]
        done = services.failed_requeue(notifications=rows.iterator(), dry_run=dry_run)
        verb = "would requeue" if dry_run else "requeued"
        for notification in done:
            self.stdout.write(f"{verb} {notification.id} {notification.channel} {notification.recipient}")
        self.stdout.write(self.style.SUCCESS(f"{len(done)} notification(s) {verb}."))
