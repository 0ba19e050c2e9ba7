"""Recipient profiles: a client's end users with their addresses, timezone, locale and preferences.

A new table, so its indexes are built with it (nothing to lock yet).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import notifications.models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0006_expo_receipts_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Recipient",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("external_id", models.CharField(max_length=255)),
                ("email", models.CharField(blank=True, max_length=254, null=True)),
                ("phone", models.CharField(blank=True, max_length=32, null=True)),
                ("telegram_chat_id", models.CharField(blank=True, max_length=64, null=True)),
                ("slack_id", models.CharField(blank=True, max_length=64, null=True)),
                ("webhook_url", models.CharField(blank=True, max_length=2048, null=True)),
                ("push_tokens", models.JSONField(blank=True, default=list)),
                ("timezone", models.CharField(default="UTC", max_length=64)),
                ("locale", models.CharField(default=notifications.models.default_locale, max_length=35)),
                ("preferences", models.JSONField(blank=True, default=dict)),
                ("quiet_hours", models.JSONField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "owner",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="recipients",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ("-created_at", "-id"),
                "indexes": [
                    models.Index(fields=["owner", "-created_at"], name="recipient_owner_created"),
                    models.Index(
                        condition=models.Q(("email__isnull", False)),
                        fields=["owner", "email"],
                        name="recipient_owner_email",
                    ),
                    models.Index(
                        condition=models.Q(("phone__isnull", False)),
                        fields=["owner", "phone"],
                        name="recipient_owner_phone",
                    ),
                    models.Index(
                        fields=["external_id"], name="recipient_external_id", opclasses=["varchar_pattern_ops"]
                    ),
                    models.Index(
                        condition=models.Q(("email__isnull", False)),
                        fields=["email"],
                        name="recipient_email_prefix",
                        opclasses=["varchar_pattern_ops"],
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("owner", "external_id"), name="recipient_owner_external_id_uniq")
                ],
            },
        ),
    ]
