"""Email's settings from the environment, each read in a fresh process: ``ANYMAIL_*`` becomes
django-anymail's ``ANYMAIL``, and an ESP so configured sends through the delivery service."""

from __future__ import annotations

import json

from notifications.models import DeliveryAttempt
from tests.conftest import database_url
from tests.fakes import postmark
from tests.test_settings import start

PRINT_ANYMAIL = (
    "import django, json; django.setup(); from django.conf import settings; print(json.dumps(settings.ANYMAIL))"
)

DELIVER = (
    "import sys, django; django.setup(); from notifications import services; "
    "from notifications.models import Notification; row = Notification.objects.get(id=sys.argv[1]); "
    "services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)"
)


def test_each_anymail_variable_becomes_an_anymail_setting():
    done = start(
        ["-c", PRINT_ANYMAIL],
        ANYMAIL_POSTMARK_SERVER_TOKEN="pm-token",
        ANYMAIL_SENDGRID_API_KEY="SG.key",
        ANYMAIL_POSTMARK_API_URL="http://127.0.0.1:9/",
        ANYMAIL_WEBHOOK_SECRET="anymail:s3cret",
        ANYMAIL_REQUESTS_TIMEOUT="7.5",
        ANYMAIL_IGNORE_RECIPIENT_STATUS="true",
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "POSTMARK_SERVER_TOKEN": "pm-token",
        "SENDGRID_API_KEY": "SG.key",
        "POSTMARK_API_URL": "http://127.0.0.1:9/",
        "WEBHOOK_SECRET": "anymail:s3cret",
        "REQUESTS_TIMEOUT": 7.5,
        "IGNORE_RECIPIENT_STATUS": True,
    }


def test_a_malformed_email_setting_stops_the_process_at_start_naming_it():
    for name, value in [("EMAIL_FALLBACK_URL", "http://mail.example.com"), ("ANYMAIL_REQUESTS_TIMEOUT", "soon")]:
        done = start(["manage.py", "check"], **{name: value})
        assert done.returncode != 0
        assert f"{name}: " in done.stderr.splitlines()[-1], done.stderr[-2000:]


def test_an_esp_configured_from_the_environment_sends_and_the_row_names_it(transactional_db, make_notification, sink):
    sink.then(postmark.accepted("pm-env-1"))
    row = make_notification(channel="email", recipient="alice@example.com", subject="Hi", body="Shipped.")

    done = start(["-c", DELIVER, str(row.id)], DATABASE_URL=database_url(), **postmark.environment(sink))

    assert done.returncode == 0, done.stderr[-2000:]
    row.refresh_from_db()
    assert (row.status, row.provider, row.provider_message_id) == ("sent", "postmark", "pm-env-1")
    assert DeliveryAttempt.objects.get(notification=row).provider == "postmark"
    [request] = sink.requests
    assert request.headers["x-postmark-server-token"] == postmark.SERVER_TOKEN
    assert json.loads(request.body)["To"] == "alice@example.com"
