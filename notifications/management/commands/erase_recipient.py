"""Erase a person (GDPR) for an operator, as ``DELETE /api/v1/recipients/{id}/`` does for a client."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from notifications import selectors, services


class Command(BaseCommand):
    help = (
        "Erase a client's end user: their recipient profile, and the address, content and data of every "
        "notification of that client to them (rows stay, with status and times). Give the profile's id, "
        "or an address (a request that arrives by email names one). Prints counts only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--owner", required=True, help="the client (username)")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--address", help="an address on any channel (email, phone, URL, chat id, token)")
        who.add_argument("--id", dest="external_id", help="the client's id for the person (the profile's id)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be erased; change nothing")

    def handle(self, *args, owner, address, external_id, dry_run, **options):
        client = get_user_model().objects.filter(username=owner).first()
        if client is None:
            raise CommandError(f"No client {owner!r}.")
        if external_id is not None:
            profile = selectors.recipient_get(owner=client, external_id=external_id)
            if profile is None:
                raise CommandError(f"Client {owner!r} has no recipient with that id.")
            profiles, addresses = [profile], []
        else:
            profiles, addresses = list(selectors.recipients_with_address(owner=client, address=address)), [address]
        result = services.recipient_erase(owner=client, recipients=profiles, addresses=addresses, dry_run=dry_run)
        verb = "would erase" if dry_run else "erased"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {result.profiles} profile(s) and {result.notifications} notification(s) of {owner}."
            )
        )
