"""Signing secrets at rest: encrypted with the operator's keys, rotatable, cleared after use."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from notifications import selectors, services, tasks
from notifications.fields import UndecryptableValue
from notifications.models import WebhookSecret
from tests import factories


def stored(owner_id: int) -> tuple[str, str]:
    """The columns as the database holds them, past the model field."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret, previous_secret FROM notifications_webhooksecret WHERE owner_id = %s", [owner_id]
        )
        return cursor.fetchone()


def test_the_secret_is_encrypted_in_the_database_and_read_back_plain(db):
    owner = factories.user()
    secret = services.webhook_secret_get_or_create(owner_id=owner.pk).secret
    assert secret.startswith("whsec_")
    raw, _ = stored(owner.pk)
    assert secret not in raw and "whsec_" not in raw
    assert WebhookSecret.objects.get(owner=owner).secret == secret


def test_a_new_key_first_encrypts_while_the_old_one_still_decrypts(db, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.NOTIFY_ENCRYPTION_KEYS = [old_key]
    owner = factories.user()
    secret = services.webhook_secret_get_or_create(owner_id=owner.pk).secret

    settings.NOTIFY_ENCRYPTION_KEYS = [new_key, old_key]
    assert WebhookSecret.objects.get(owner=owner).secret == secret
    rotated = services.webhook_secret_rotate(owner=owner)
    raw_new, raw_previous = stored(owner.pk)
    assert Fernet(new_key).decrypt(raw_new.encode()).decode() == rotated.secret
    assert Fernet(new_key).decrypt(raw_previous.encode()).decode() == secret

    settings.NOTIFY_ENCRYPTION_KEYS = [new_key]  # the old key retired: everything still reads
    assert selectors.signing_secrets(secret=WebhookSecret.objects.get(owner=owner)) == (rotated.secret, secret)


def test_a_secret_no_key_decrypts_is_an_error_naming_the_setting_never_a_wrong_signature(db, settings):
    settings.NOTIFY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    owner = factories.user()
    services.webhook_secret_get_or_create(owner_id=owner.pk)
    settings.NOTIFY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(UndecryptableValue, match="NOTIFY_ENCRYPTION_KEYS"):
        WebhookSecret.objects.get(owner=owner)


def test_the_previous_secret_is_cleared_once_its_overlap_ends(db):
    owner = factories.user()
    services.webhook_secret_get_or_create(owner_id=owner.pk)
    services.webhook_secret_rotate(owner=owner)
    tasks.purge_old()
    assert stored(owner.pk)[1] != ""  # still signing: kept

    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1), tick=True):
        tasks.purge_old()
    row = WebhookSecret.objects.get(owner=owner)
    assert (row.previous_secret, row.previous_expires_at) == ("", None)
    assert stored(owner.pk)[1] == ""


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_secrets_stored_in_plain_text():
    executor = MigrationExecutor(connection)
    executor.migrate([("notifications", "0001_initial")])
    owner = factories.user("legacy")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notifications_webhooksecret (owner_id, secret, created_at, previous_secret) "
            "VALUES (%s, %s, %s, %s)",
            [owner.pk, "whsec_bGVnYWN5LXNlY3JldC0xMjM0NTY3ODkwMTIzNDU2", timezone.now(), ""],
        )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    raw, previous = stored(owner.pk)
    assert "whsec_" not in raw and previous == ""
    assert WebhookSecret.objects.get(owner=owner).secret == "whsec_bGVnYWN5LXNlY3JldC0xMjM0NTY3ODkwMTIzNDU2"
