"""The Expo receipts pass: Expo pushes whose receipt is not known yet, by when they went.

Built with CREATE INDEX CONCURRENTLY on PostgreSQL, as 0003 and 0005 are and for the same reason
(a plain CREATE INDEX blocks every write of the table while it builds); so this migration is not
atomic: if it stops halfway, drop the index it names as INVALID and migrate again. Elsewhere
(SQLite, the embedded default) a plain CREATE INDEX.
"""

from django.db import migrations, models

from notifications.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0005_admin_provider_filters"),
    ]

    operations = [
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("channel", "push"), ("delivery_status__isnull", True), ("provider", "expo")),
                fields=["sent_at"],
                name="notification_expo_unreceipted",
            ),
        ),
    ]
