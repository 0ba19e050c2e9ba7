"""Add an API client: a user with no password and not staff, and its DRF token.

A client only ever calls the API with its token, so it gets no password (nothing to guess at the
login pages) and no admin access. Safe to run twice: an existing name is refused with its token
left as it was, and ``--rotate-token`` is the one way to replace a token (the old one stops
working at once). The token alone goes to stdout, so a script can take it:
``TOKEN=$(python manage.py create_client acme)``; what happened goes to stderr.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Add an API client (a user with no password, not staff) and print its token; --rotate-token replaces it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the client's username, e.g. acme")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--email", default="", help="a contact address for the new client")
        how.add_argument(
            "--rotate-token",
            action="store_true",
            help="give an existing client a new token; its old token stops working at once",
        )

    def handle(self, *args, name: str, email: str, rotate_token: bool, **options) -> None:
        if rotate_token:
            token = self._rotate(name)
            self.stderr.write(f"New API token for client {name!r}; the old one no longer works.")
        else:
            token = self._create(name, email)
            self.stderr.write(f"Created client {name!r}. Use the token as: Authorization: Token <token>")
        self.stdout.write(token.key)

    def _create(self, name: str, email: str) -> Token:
        model = get_user_model()
        try:
            model._meta.get_field(model.USERNAME_FIELD).run_validators(name)
            if email:
                validate_email(email)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        exists = CommandError(
            f"A client named {name!r} already exists; its token is unchanged. "
            "--rotate-token gives it a new one (the old one then stops working)."
        )
        if model.objects.filter(**{model.USERNAME_FIELD: name}).exists():
            raise exists
        try:
            with transaction.atomic():
                # No password given: an unusable one, so no login page accepts this user.
                user = model.objects.create_user(**{model.USERNAME_FIELD: name}, email=email)
                return Token.objects.create(user=user)
        except IntegrityError as exc:  # created by someone else since the check
            raise exists from exc

    def _rotate(self, name: str) -> Token:
        model = get_user_model()
        user = model.objects.filter(**{model.USERNAME_FIELD: name}).first()
        if user is None:
            raise CommandError(f"No client named {name!r}; without --rotate-token it is created.")
        with transaction.atomic():
            Token.objects.filter(user=user).delete()
            return Token.objects.create(user=user)
