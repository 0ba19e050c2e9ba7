"""A text column encrypted at rest with the keys of ``NOTIFY_ENCRYPTION_KEYS``.

Hand-written, on ``cryptography``'s ``MultiFernet``, because the Django field
libraries on PyPI fall short here: django-fernet-encrypted-fields returns the
ciphertext as the value when no key decrypts it (a webhook would then be
signed with garbage, silently), and derives its keys from ``SECRET_KEY``
only, so rotating that key loses every secret. Here the keys are the
operator's (the first encrypts, all decrypt, so they rotate), and a value no
key can read raises ``UndecryptableValue``, naming the setting.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import InvalidToken
from django.db import models

from notifications import conf


class UndecryptableValue(Exception):
    """No key of ``NOTIFY_ENCRYPTION_KEYS`` decrypts a stored value."""


class EncryptedTextField(models.TextField):
    """Stores ``str`` values as Fernet tokens; reads them back decrypted. Empty stays empty
    (it is nothing to hide, and "no previous secret" must stay cheap to test)."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return conf.encryption().encrypt(value.encode()).decode("ascii")

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if not value:
            return value
        try:
            return conf.encryption().decrypt(value.encode("ascii")).decode()
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise UndecryptableValue(
                f"{self.model.__name__}.{self.name}: no key in NOTIFY_ENCRYPTION_KEYS decrypts the stored value."
            ) from exc
