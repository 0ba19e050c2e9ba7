"""Indexes for notifications made by a schedule or joined to a digest.

Built CONCURRENTLY on PostgreSQL, as 0003, 0005, 0006 and 0010 are and for the same reason (a
plain CREATE INDEX blocks every write of the table while it builds); so this migration is not
atomic: if it stops halfway, drop the index it names as INVALID and migrate again. Elsewhere
(SQLite, the embedded default) a plain CREATE INDEX.
"""

from django.db import migrations, models

from notifications.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0011_schedules_and_digests"),
    ]

    operations = [
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("schedule__isnull", False)),
                fields=["schedule", "-created_at", "-id"],
                name="notification_schedule_created",
            ),
        ),
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("digest_window__isnull", False)),
                fields=["digest_window", "created_at"],
                name="notification_digest_members",
            ),
        ),
    ]
