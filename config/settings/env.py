"""The strict environment reader every settings module uses, and where files go.

Read first: ``BASE_DIR``, ``VAR_DIR`` and ``.env`` (unless ``NOTIFIER_ENV_FILE`` names another).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured


class Env(environ.Env):
    """django-environ, strict: a value that does not parse stops the process at start, naming
    its variable. (django-environ's own ``int`` says only "invalid literal for int()", and its
    ``bool`` reads any word it does not know, "ture" included, as False.)"""

    BOOLEAN_FALSE_STRINGS = ("false", "off", "no", "n", "0", "")

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{var}: {self.ENVIRON.get(var)!r} is not a valid value ({exc}).") from exc

    def bool(self, var, default=environ.Env.NOTSET):
        text = self.ENVIRON.get(var)
        if text is not None and text.strip().lower() not in (*self.BOOLEAN_TRUE_STRINGS, *self.BOOLEAN_FALSE_STRINGS):
            raise ImproperlyConfigured(f"{var}: {text!r} is not a boolean; write true or false.")
        return super().bool(var, default=default)


BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(Env().str("NOTIFIER_VAR_DIR", default=str(BASE_DIR / "var")))

env = Env()
# NOTIFIER_ENV_FILE=/dev/null keeps a developer's .env out of the test run.
environ.Env.read_env(Env().str("NOTIFIER_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)
