"""Email: the backend (SMTP from EMAIL_URL, or an ESP through django-anymail), its fallback, and ANYMAIL_*."""

import os

from config.settings.env import env

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))
# Set, it wins over EMAIL_URL's SMTP backend: an ESP (anymail.backends.<esp>.EmailBackend) is chosen
# in one variable, even where EMAIL_URL is given (docker-compose.yml's Mailpit).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=EMAIL_BACKEND)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="notifier@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# An SMTP server that takes what the primary backend fails transiently (checked at start by
# notifier.registry.check_settings, which parses it).
EMAIL_FALLBACK_URL = env.str("EMAIL_FALLBACK_URL", default="")
# django-anymail's settings, one variable each: ANYMAIL_<NAME> becomes ANYMAIL["<NAME>"]
# (ANYMAIL_POSTMARK_SERVER_TOKEN, ANYMAIL_SENDGRID_API_KEY, ANYMAIL_WEBHOOK_SECRET, …), as strings
# except the few anymail reads as numbers or booleans.
_ANYMAIL_TYPED = {
    "REQUESTS_TIMEOUT": env.float,
    "IGNORE_RECIPIENT_STATUS": env.bool,
    "IGNORE_UNSUPPORTED_FEATURES": env.bool,
    "DEBUG_API_REQUESTS": env.bool,
}
ANYMAIL = {
    _name.removeprefix("ANYMAIL_"): _ANYMAIL_TYPED.get(_name.removeprefix("ANYMAIL_"), env.str)(_name)
    for _name in sorted(os.environ)
    if _name.startswith("ANYMAIL_") and _name != "ANYMAIL_"
}
