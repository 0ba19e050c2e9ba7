"""The admin's indexes: its list across clients newest first, each of its filters, and its search.

Built with CREATE INDEX CONCURRENTLY on PostgreSQL: a plain CREATE INDEX blocks every insert and
update of the table while it builds (at a million rows, seconds per index; the claim and the
finish would wait), CONCURRENTLY lets them run. It cannot run in a transaction, so this migration
is not atomic: if it stops halfway, drop the index it names as INVALID and migrate again.
Elsewhere (SQLite, the embedded default) a plain CREATE INDEX, without PostgreSQL's "C" collation.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Collate, Left

from notifications.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0002_encrypt_webhook_secrets"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # notification_owner_created serves lookups by owner: the FK's own index is one more write per row.
        migrations.AlterField(
            model_name="notification",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        AddIndexOnline(
            model_name="notification",
            index=models.Index(fields=["-created_at", "-id"], name="notification_created"),
        ),
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=~models.Q(status="sent"),
                fields=["status", "-created_at", "-id"],
                name="notification_status_created",
            ),
        ),
        AddIndexOnline(
            model_name="notification",
            index=models.Index(fields=["channel", "-created_at", "-id"], name="notification_channel_created"),
        ),
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=~models.Q(priority="normal"),
                fields=["priority", "-created_at", "-id"],
                name="notification_priority_created",
            ),
        ),
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=~models.Q(failure_reason=""),
                fields=["failure_reason", "-created_at", "-id"],
                name="notification_failure_created",
            ),
        ),
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=models.Q(idempotency_key__isnull=False),
                fields=["idempotency_key"],
                name="notification_idempotency_key",
                opclasses=["varchar_pattern_ops"],
            ),
        ),
        AddIndexOnline(
            model_name="notification",
            index=models.Index(Collate(Left("recipient", 255), "C"), name="notification_recipient_prefix"),
        ),
    ]
