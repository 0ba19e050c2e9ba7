"""The admin's provider and delivery-status filters: one partial index each, newest first.

Built with CREATE INDEX CONCURRENTLY on PostgreSQL, as 0003 is and for the same reason (a plain
CREATE INDEX blocks every write of the table while it builds); so this migration is not atomic:
if it stops halfway, drop the index it names as INVALID and migrate again. Elsewhere (SQLite,
the embedded default) a plain CREATE INDEX.
"""

from django.db import migrations, models

from notifications.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0004_providers_and_reports"),
    ]

    operations = [
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("provider", ""), _negated=True),
                fields=["provider", "-created_at", "-id"],
                name="notification_provider_created",
            ),
        ),
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("delivery_status__isnull", False)),
                fields=["delivery_status", "-created_at", "-id"],
                name="notification_delivery_created",
            ),
        ),
    ]
