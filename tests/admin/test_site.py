"""The rest of the admin site: its index, django-celery-beat's schedule pages and the webhook secrets."""

from __future__ import annotations

import pytest
from django.utils import timezone

from notifications.models import WebhookSecret
from tests.admin.conftest import CHANGELIST, html

pytestmark = pytest.mark.django_db


# --- django-celery-beat --------------------------------------------------------


def test_periodic_task_admin_loads(admin_client):
    response = admin_client.get("/admin/django_celery_beat/periodictask/")

    assert response.status_code == 200
    assert "periodic task" in response.content.decode().lower()


@pytest.mark.parametrize("model", ["intervalschedule", "crontabschedule", "clockedschedule", "solarschedule"])
def test_beat_schedule_admins_load(admin_client, model):
    assert admin_client.get(f"/admin/django_celery_beat/{model}/").status_code == 200


def test_admin_index_lists_notifications_and_beat(admin_client):
    page = html(admin_client.get("/admin/"))

    assert CHANGELIST in page
    assert "/admin/django_celery_beat/periodictask/" in page


# --- webhook secrets -------------------------------------------------------------


def test_webhook_secrets_are_listed_without_the_secret(admin_client, owner):
    WebhookSecret.objects.create(owner=owner, secret="whsec_c2VjcmV0LXZhbHVl", created_at=timezone.now())

    page = html(admin_client.get("/admin/notifications/webhooksecret/"))

    assert "client-1" in page
    assert "whsec_c2VjcmV0LXZhbHVl" not in page
    assert "c2VjcmV0LXZhbHVl" not in html(
        admin_client.get(f"/admin/notifications/webhooksecret/{owner.webhook_secret.pk}/change/")
    )


def test_webhook_secrets_cannot_be_added_or_edited_by_hand(admin_client, owner):
    secret = WebhookSecret.objects.create(owner=owner, secret="whsec_c2VjcmV0LXZhbHVl", created_at=timezone.now())

    assert admin_client.get("/admin/notifications/webhooksecret/add/").status_code == 403
    assert admin_client.post("/admin/notifications/webhooksecret/add/", {"_save": "Save"}).status_code == 403
    assert admin_client.post(f"/admin/notifications/webhooksecret/{secret.pk}/change/", {}).status_code == 403
    assert WebhookSecret.objects.count() == 1
