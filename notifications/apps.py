from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # In every process (web, worker, beat, commands): a malformed setting stops it here,
        # named, rather than failing each request or task later.
        from notifications import conf
        from notifier import registry

        conf.check()
        registry.check_settings()
