"""The state of delivery at a glance, for the runbook."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from notifications import selectors


class Command(BaseCommand):
    help = (
        "Print notifications by status, how many are due now and how late the oldest is "
        "(the sweep's lag), expired leases (dead workers) and failures by reason. Read-only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", dest="as_json", action="store_true", help="one JSON object, for scripts")

    def handle(self, *args, as_json: bool = False, **options) -> None:
        health = selectors.delivery_health()
        if as_json:
            self.stdout.write(json.dumps(health, sort_keys=True))
            return
        for status, count in health["by_status"].items():
            self.stdout.write(f"{status:>10}  {count}")
        self.stdout.write(f"due now: {health['due_now']} (oldest {health['oldest_due_seconds']} s overdue)")
        self.stdout.write(f"expired leases: {health['expired_leases']}")
        reasons = ", ".join(f"{reason or 'unknown'}: {n}" for reason, n in health["failed_by_reason"].items())
        self.stdout.write(f"failed by reason: {reasons or 'none'}")
