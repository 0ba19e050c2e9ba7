"""The app's settings: the one module that reads them, and the check that runs at start.

Every ``NOTIFY_*`` setting is read here, through a named accessor, and nowhere
else. Most are read at call time (so ``override_settings`` and the tests'
``settings`` fixture take effect); the delivery tasks' options (time limits,
Celery's backoff) are read once, when a worker imports the tasks, and the beat
schedule's interval when the settings load. The limits that are not settings are named here too. ``check()``
runs in every process as Django starts (``NotificationsConfig.ready``): a
malformed value stops the web, worker or beat process at once, naming the
setting, instead of failing each request or task later.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import timedelta
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from notifier.gates import GateSettings

# One bulk request, at most: a request of this size validates and inserts in well under a second.
BULK_MAX = 1000
# A client's endpoints, at most: each change of a notification is written once per endpoint that
# wants it, so the fan-out of one change stays bounded.
ENDPOINTS_MAX = 20
# How long a rotated-out webhook secret keeps signing beside the new one.
SECRET_ROTATION_OVERLAP = timedelta(hours=24)

# DRF's rate syntax: the period is read by its first letter (100/s, 100/sec and 100/second alike).
_RATE = re.compile(r"^(\d+)/([smhd])[a-z]*$")
_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def max_attempts() -> int:
    return settings.NOTIFY_MAX_ATTEMPTS


def retry_backoff() -> int:
    return settings.NOTIFY_RETRY_BACKOFF


def retry_backoff_max() -> int:
    return settings.NOTIFY_RETRY_BACKOFF_MAX


def retry_after_max() -> int:
    return settings.NOTIFY_RETRY_AFTER_MAX


def metrics_token() -> str:
    """``METRICS_TOKEN``: required as a bearer token on /metrics when set."""
    return settings.METRICS_TOKEN


def worker_metrics_port() -> int:
    """``WORKER_METRICS_PORT``: where each worker serves /metrics; 0 for nowhere."""
    return settings.WORKER_METRICS_PORT


def log_format() -> str:
    """``LOG_FORMAT``: ``plain`` or ``json``."""
    return settings.LOG_FORMAT


def lease() -> timedelta:
    return timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)


def sweep_grace() -> timedelta:
    return timedelta(seconds=settings.NOTIFY_SWEEP_GRACE)


def sweep_batch() -> int:
    return settings.NOTIFY_SWEEP_BATCH


def dispatch_batch() -> int:
    """How many ids one ``deliver_batch`` message carries at most."""
    return settings.NOTIFY_DISPATCH_BATCH


def gate_settings() -> GateSettings:
    """The gates' settings (``notifier.gates``), read at each use."""
    return GateSettings(
        redis_url=settings.REDIS_URL,
        key_prefix=settings.CACHE_KEY_PREFIX,
        breaker_min_calls=settings.NOTIFY_BREAKER_MIN_CALLS,
        breaker_window=settings.NOTIFY_BREAKER_WINDOW,
        breaker_threshold=settings.NOTIFY_BREAKER_THRESHOLD,
        breaker_cooldown=settings.NOTIFY_BREAKER_COOLDOWN,
        host_concurrency=settings.WEBHOOK_HOST_CONCURRENCY,
        host_lease=float(settings.NOTIFY_LEASE_SECONDS),
        host_wait=max(1.0, settings.WEBHOOK_TIMEOUT / 2),
        rates=_rates(tuple(sorted(settings.NOTIFY_RATES.items()))),
    )


@cache
def _rates(rates: tuple[tuple[str, str], ...]) -> dict[str, tuple[int, int]]:
    parsed = {}
    for provider, text in rates:
        rate = _parse_rate(text, f"NOTIFY_RATE_{provider}")
        if rate:
            parsed[provider] = rate
    return parsed


def public_url() -> str:
    """``NOTIFY_PUBLIC_URL`` without a trailing slash: the service's own base URL, for the
    callback URLs providers are given. Empty: no callbacks are asked for."""
    return settings.NOTIFY_PUBLIC_URL.rstrip("/")


def retention() -> timedelta | None:
    """How long terminal notifications are kept; ``None`` keeps them for ever."""
    days = settings.NOTIFY_RETENTION_DAYS
    return timedelta(days=days) if days > 0 else None


def max_content_bytes() -> int:
    """The most bytes one notification's subject, body and payload (compact JSON) may hold, UTF-8."""
    return settings.NOTIFY_MAX_CONTENT_BYTES


def default_locale() -> str:
    """``NOTIFY_DEFAULT_LOCALE``: a recipient profile's locale when the client gives none."""
    return settings.NOTIFY_DEFAULT_LOCALE


def api_rate() -> tuple[int, int] | None:
    """``NOTIFY_API_RATE`` as (requests, window in seconds); ``None`` when empty (no limit)."""
    return _parse_rate(settings.NOTIFY_API_RATE, "NOTIFY_API_RATE")


@cache
def _parse_rate(text: str, name: str) -> tuple[int, int] | None:
    if not text:
        return None
    match = _RATE.match(text)
    if match is None:
        raise ImproperlyConfigured(
            f"{name}: {text!r} is not a rate; write requests/period, e.g. 100/s, 600/m or 5000/h "
            "(empty turns the limit off)."
        )
    return int(match[1]), _PERIOD_SECONDS[match[2]]


def recipient_rate() -> tuple[int, int] | None:
    """``NOTIFY_RECIPIENT_RATE`` as (sends, period in seconds) per recipient and channel; ``None``
    when empty (no cap)."""
    return _parse_rate(settings.NOTIFY_RECIPIENT_RATE, "NOTIFY_RECIPIENT_RATE")


def schedule_catchup() -> timedelta:
    """``NOTIFY_SCHEDULE_CATCHUP``: a missed occurrence older than this is skipped (and counted)."""
    return timedelta(seconds=settings.NOTIFY_SCHEDULE_CATCHUP)


def endpoint_disable_after() -> timedelta:
    """``NOTIFY_ENDPOINT_DISABLE_AFTER``: how long an endpoint's event deliveries may all fail
    before the service disables it."""
    return timedelta(seconds=settings.NOTIFY_ENDPOINT_DISABLE_AFTER)


def encryption() -> MultiFernet:
    """The keys that encrypt secrets at rest: ``NOTIFY_ENCRYPTION_KEYS`` (the first encrypts, all
    decrypt); when it is empty, one key derived from ``SECRET_KEY``, with ``SECRET_KEY_FALLBACKS``
    still decrypting, so rotating Django's key the Django way keeps the secrets readable."""
    return _fernet(tuple(settings.NOTIFY_ENCRYPTION_KEYS), settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@cache
def _fernet(keys: tuple[str, ...], secret_key: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    if keys:
        try:
            return MultiFernet([Fernet(key) for key in keys])
        except ValueError as exc:
            raise ImproperlyConfigured(
                "NOTIFY_ENCRYPTION_KEYS: each key must be 32 url-safe base64-encoded bytes; make one with "
                'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from exc
    return MultiFernet([Fernet(_derived_key(key)) for key in (secret_key, *fallbacks)])


def _derived_key(secret_key: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"notifier encryption at rest")
    return base64.urlsafe_b64encode(derived.derive(secret_key.encode()))


def task_time_limits() -> tuple[float, float]:
    """(soft, hard) seconds for a delivery task: backstops under the lease for a receiver that
    trickles its answer past every per-read timeout. The soft limit raises inside the send
    (recorded, retried); the hard one kills the pool process, and the stuck-sweep recovers the row."""
    seconds = settings.NOTIFY_LEASE_SECONDS
    return seconds * 0.75, seconds * 0.9


def _seconds_above(minimum: float) -> Callable[[object], bool]:
    return lambda value: isinstance(value, int | float) and not isinstance(value, bool) and value > minimum


def _at_least(minimum: int) -> Callable[[object], bool]:
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= minimum


_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "NOTIFY_MAX_ATTEMPTS": (_at_least(1), "a whole number of at least 1"),
    "NOTIFY_RETRY_BACKOFF": (_at_least(1), "a whole number of seconds, at least 1"),
    "NOTIFY_RETRY_BACKOFF_MAX": (_at_least(1), "a whole number of seconds, at least 1"),
    "NOTIFY_RETRY_AFTER_MAX": (_at_least(0), "a whole number of seconds, 0 or more"),
    "NOTIFY_LEASE_SECONDS": (_at_least(2), "a whole number of seconds, at least 2"),
    "NOTIFY_SWEEP_INTERVAL": (_at_least(1), "a whole number of seconds, at least 1"),
    "NOTIFY_SWEEP_GRACE": (_at_least(0), "a whole number of seconds, 0 or more"),
    "NOTIFY_SWEEP_BATCH": (_at_least(1), "a whole number of at least 1"),
    "NOTIFY_DISPATCH_BATCH": (_at_least(1), "a whole number of at least 1"),
    "NOTIFY_RETENTION_DAYS": (_at_least(0), "a whole number of days, 0 or more (0 keeps everything)"),
    "NOTIFY_BREAKER_MIN_CALLS": (_at_least(1), "a whole number of at least 1"),
    "NOTIFY_BREAKER_WINDOW": (_seconds_above(0), "a number of seconds above 0"),
    "NOTIFY_BREAKER_THRESHOLD": (lambda value: _seconds_above(0)(value) and value <= 1, "a share above 0, at most 1"),
    "NOTIFY_BREAKER_COOLDOWN": (_seconds_above(0), "a number of seconds above 0"),
    "WEBHOOK_HOST_CONCURRENCY": (_at_least(0), "a whole number, 0 or more (0 turns the cap off)"),
    "NOTIFY_MAX_CONTENT_BYTES": (_at_least(1), "a whole number of bytes, at least 1"),
    "NOTIFY_SCHEDULE_CATCHUP": (_at_least(0), "a whole number of seconds, 0 or more"),
    "NOTIFY_ENDPOINT_DISABLE_AFTER": (_at_least(1), "a whole number of seconds, at least 1"),
}


def check() -> None:
    """Raise ``ImproperlyConfigured`` naming the first setting that is missing or malformed."""
    for name, (valid, expected) in _CHECKS.items():
        value = getattr(settings, name, None)
        if not valid(value):
            raise ImproperlyConfigured(f"{name}: {value!r} is not {expected}.")
    api_rate()
    recipient_rate()
    gate_settings()
    encryption()
