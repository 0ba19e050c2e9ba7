"""Create (or reuse) the demo client of ``make run`` and print how to use it.

The demo user is a superuser, so its password is random, made when the user is, and printed
once beside the token: a password everyone knows ("demo") would open the admin to anyone who
reaches the port. A later run keeps the user and its password and says how to set a new one.
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

FIRST_NOTIFICATION = '{"channel": "console", "recipient": "me", "body": "hello"}'


class Command(BaseCommand):
    help = "Create the demo superuser 'demo' with an API token, and print the token and the URLs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", help="the new user's password (default: a random one, printed)")

    def handle(self, *args, username: str, password: str | None, **options) -> None:
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            password = password or secrets.token_urlsafe(12)
            user.set_password(password)
            user.save()
        token, _ = Token.objects.get_or_create(user=user)
        port = os.environ.get("PORT", "8000")
        flower = os.environ.get("FLOWER_PORT", "5555")
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"  API token ({username}):  {token.key}",
                    f"  API:        {base}/api/v1/notifications/",
                    f"  API docs:   {base}/api/docs/",
                    f"  Admin:      {base}/admin/   (user {username!r}, password {password!r})"
                    if created
                    else f"  Admin:      {base}/admin/   (user {username!r}, password as printed when it was made;"
                    f" NOTIFY_EMBEDDED=true .venv/bin/python manage.py changepassword {username} sets another)",
                    f"  Flower:     http://127.0.0.1:{flower}/",
                    "",
                    "  Send a first notification:",
                    f"  curl -s -H 'Authorization: Token {token.key}' -H 'Content-Type: application/json' \\",
                    f"       -d '{FIRST_NOTIFICATION}' {base}/api/v1/notifications/",
                    "",
                ]
            )
        )
