"""Settings, read from the environment (and `.env`) through django-environ.

With ``NOTIFY_EMBEDDED=true`` (or ``DEBUG``) and no ``DATABASE_URL``, the service runs
embedded: SQLite and kombu's ``filesystem://`` broker under ``var/``. ``DATABASE_URL``,
``CELERY_BROKER_URL`` and ``REDIS_URL`` select PostgreSQL, RabbitMQ and Redis. Every name is
listed in the README.

Split by concern, each module reading its own part of the environment through ``env``:
``base`` (Django), ``mail``, ``api``, ``notify`` (the service and its providers), ``broker``
(Celery), ``observability`` (metrics, logs, traces), on ``env`` (the strict reader,
``BASE_DIR``, ``VAR_DIR``). Every setting is an upper-case name of one of them; a module
imports what it reads from another, so the order of the imports below does not matter.
"""

from config.settings.api import *  # noqa: F403
from config.settings.base import *  # noqa: F403
from config.settings.broker import *  # noqa: F403
from config.settings.env import BASE_DIR, VAR_DIR  # noqa: F401 -- settings others read
from config.settings.mail import *  # noqa: F403
from config.settings.notify import *  # noqa: F403
from config.settings.observability import *  # noqa: F403
