"""Delete old notifications in terminal states, in small batches."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from notifications import services
from notifications.management.durations import duration


class Command(BaseCommand):
    help = (
        "Delete sent, failed and cancelled notifications (and their attempts) last changed more than "
        "--older-than ago, in batches, so a million rows never lock the table. Live rows are never touched."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than", type=duration, required=True, metavar="DAYS", help="age, in days or as 12h, 2w, …"
        )
        parser.add_argument("--batch-size", type=int, default=1000, help="rows per transaction (default 1000)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted; change nothing")

    def handle(self, *args, older_than, batch_size, dry_run, **options):
        count = services.notifications_purge(older_than=older_than, batch_size=batch_size, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(self.style.SUCCESS(f"{count} notification(s) {verb}."))
