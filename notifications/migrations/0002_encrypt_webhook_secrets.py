"""Webhook signing secrets encrypted at rest: widen the columns, encrypt what is stored,
then read them through the encrypting field (same column type, no schema change)."""

from django.db import migrations, models

import notifications.fields
from notifications import conf


def encrypt_stored(apps, schema_editor):
    # The historical model here has plain text fields: values are read as stored.
    WebhookSecret = apps.get_model("notifications", "WebhookSecret")
    fernet = conf.encryption()
    for row in WebhookSecret.objects.all():
        row.secret = fernet.encrypt(row.secret.encode()).decode("ascii")
        if row.previous_secret:
            row.previous_secret = fernet.encrypt(row.previous_secret.encode()).decode("ascii")
        row.save(update_fields=["secret", "previous_secret"])


def decrypt_stored(apps, schema_editor):
    WebhookSecret = apps.get_model("notifications", "WebhookSecret")
    fernet = conf.encryption()
    for row in WebhookSecret.objects.all():
        row.secret = fernet.decrypt(row.secret.encode()).decode()
        if row.previous_secret:
            row.previous_secret = fernet.decrypt(row.previous_secret.encode()).decode()
        row.save(update_fields=["secret", "previous_secret"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [
        migrations.AlterField("webhooksecret", "secret", models.TextField()),
        migrations.AlterField("webhooksecret", "previous_secret", models.TextField(blank=True, default="")),
        migrations.RunPython(encrypt_stored, decrypt_stored),
        migrations.AlterField("webhooksecret", "secret", notifications.fields.EncryptedTextField()),
        migrations.AlterField(
            "webhooksecret", "previous_secret", notifications.fields.EncryptedTextField(blank=True, default="")
        ),
    ]
