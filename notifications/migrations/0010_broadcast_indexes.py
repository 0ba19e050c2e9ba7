"""Indexes for notifications sent to a profile or by a broadcast.

Built CONCURRENTLY on PostgreSQL, as 0003, 0005 and 0006 are and for the same reason (a plain
CREATE INDEX blocks every write of the table while it builds); so this migration is not atomic:
if it stops halfway, drop the index it names as INVALID and migrate again. Elsewhere (SQLite,
the embedded default) a plain CREATE INDEX.
"""

from django.db import migrations, models

from notifications.migration_operations import AddIndexOnline, AddUniqueConstraintOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0009_broadcasts"),
    ]

    operations = [
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("broadcast__isnull", False)),
                fields=["broadcast", "-created_at", "-id"],
                name="notification_broadcast_created",
            ),
        ),
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("to", ""), _negated=True), fields=["owner", "to"], name="notification_owner_to"
            ),
        ),
        AddUniqueConstraintOnline(
            model_name="notification",
            constraint=models.UniqueConstraint(
                condition=models.Q(("broadcast__isnull", False)),
                fields=("broadcast", "to", "channel"),
                name="notification_broadcast_to_channel_uniq",
            ),
        ),
    ]
