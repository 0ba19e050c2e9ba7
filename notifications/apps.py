from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _codepoint_order(left: str, right: str) -> int:
    return (left > right) - (left < right)


def _sqlite_c_collation(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite has no "C" collation, which the recipient-prefix index names (PostgreSQL's byte
    order, so a prefix search can use it). SQLite rebuilds a table, indexes included, whenever
    a migration alters it, so the embedded default needs one: code-point order is UTF-8's byte
    order, which is what "C" means there."""
    if connection.vendor == "sqlite":
        connection.connection.create_collation("C", _codepoint_order)


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # In every process (web, worker, beat, commands): a malformed setting stops it here,
        # named, rather than failing each request or task later.
        from notifications import conf
        from notifier import gates, registry

        conf.check()
        registry.check_settings()
        gates.configure(conf.gate_settings)
        connection_created.connect(_sqlite_c_collation, dispatch_uid="notifications-sqlite-c-collation")
        from notifications import signals  # noqa: F401  connects the ESP tracking receiver
