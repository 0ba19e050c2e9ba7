"""The index of the admin's "events to endpoints" filter: event deliveries, newest first.

Built CONCURRENTLY on PostgreSQL, as 0014 and the others are and for the same reason (a plain
CREATE INDEX blocks every write of the table while it builds); so this migration is not atomic:
if it stops halfway, drop the index it names as INVALID and migrate again.
"""

from django.db import migrations, models

from notifications.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0014_endpoint_delivery_index"),
    ]

    operations = [
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("endpoint__isnull", False)),
                fields=["-created_at", "-id"],
                name="notification_event_created",
            ),
        ),
    ]
