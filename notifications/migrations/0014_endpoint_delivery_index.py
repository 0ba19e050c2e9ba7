"""The index of an endpoint's event deliveries (its recover, its disable check).

Built CONCURRENTLY on PostgreSQL, as 0012 and the others are and for the same reason (a plain
CREATE INDEX blocks every write of the table while it builds); so this migration is not atomic:
if it stops halfway, drop the index it names as INVALID and migrate again.
"""

from django.db import migrations, models

from notifications.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0013_endpoints_and_trace"),
    ]

    operations = [
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("endpoint__isnull", False)),
                fields=["endpoint", "status", "updated_at"],
                name="notification_endpoint_status",
            ),
        ),
    ]
