"""The app's settings, read in one place with named accessors (read at call time,
so tests and ``override_settings`` see changes)."""

from datetime import timedelta

from django.conf import settings


def max_attempts() -> int:
    return settings.NOTIFY_MAX_ATTEMPTS


def retry_backoff() -> int:
    return settings.NOTIFY_RETRY_BACKOFF


def retry_backoff_max() -> int:
    return settings.NOTIFY_RETRY_BACKOFF_MAX


def retry_after_max() -> int:
    return settings.NOTIFY_RETRY_AFTER_MAX


def lease() -> timedelta:
    return timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)


def sweep_grace() -> timedelta:
    return timedelta(seconds=settings.NOTIFY_SWEEP_GRACE)


def sweep_batch() -> int:
    return settings.NOTIFY_SWEEP_BATCH


def bulk_max() -> int:
    return settings.NOTIFY_BULK_MAX


def secret_overlap() -> timedelta:
    return timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)


def retention() -> timedelta | None:
    """How long terminal notifications are kept; ``None`` keeps them for ever."""
    days = settings.NOTIFY_RETENTION_DAYS
    return timedelta(days=days) if days > 0 else None
