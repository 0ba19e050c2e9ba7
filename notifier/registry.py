"""Channel name → configured provider, one instance per process.

Providers are built lazily from Django settings the first time they are asked
for, so a worker reuses one HTTP client (and its keep-alive connections). Their
modules are imported with this one: a prefork worker imports them once, before it
forks its pool, instead of in every pool process on its first delivery (11 % of
the worker's CPU in a 5,000-webhook profile).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import environ
import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from notifier import __version__
from notifier.base import Provider
from notifier.console import ConsoleProvider
from notifier.email import EmailProvider
from notifier.errors import UnknownChannel
from notifier.push import ExpoClient, FcmClient, PushProvider
from notifier.slack import SlackProvider
from notifier.sms import TwilioProvider
from notifier.telegram import TelegramProvider
from notifier.webhook import WebhookProvider


def check_settings() -> None:
    """Raise ``ImproperlyConfigured`` naming a provider setting that cannot work; run at start."""
    timeout = settings.WEBHOOK_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ImproperlyConfigured(f"WEBHOOK_TIMEOUT: {timeout!r} is not a number of seconds above 0.")
    _check_proxy(settings.WEBHOOK_PROXY)
    _check_push()
    _check_api_providers()
    email_fallback()


def email_fallback() -> dict[str, Any] | None:
    """``EMAIL_FALLBACK_URL`` as the keyword arguments of an SMTP ``get_connection``; ``None``
    when unset. Every argument is given, so nothing falls back to the primary's ``EMAIL_*``
    settings (its user and password). The value is never echoed: it may carry a password."""
    url = settings.EMAIL_FALLBACK_URL
    if not url:
        return None
    try:
        parsed = environ.Env.email_url_config(url)
    except (ImproperlyConfigured, ValueError) as exc:
        raise ImproperlyConfigured("EMAIL_FALLBACK_URL: not an smtp:// URL with a host and a valid port.") from exc
    if parsed["EMAIL_BACKEND"] != "django.core.mail.backends.smtp.EmailBackend" or not parsed["EMAIL_HOST"]:
        raise ImproperlyConfigured("EMAIL_FALLBACK_URL: not an smtp:// URL with a host and a valid port.")
    use_ssl, use_tls = bool(parsed.get("EMAIL_USE_SSL")), bool(parsed.get("EMAIL_USE_TLS"))
    return {
        "backend": parsed["EMAIL_BACKEND"],
        "host": parsed["EMAIL_HOST"],
        "port": parsed["EMAIL_PORT"] or (465 if use_ssl else 587 if use_tls else 25),
        "username": parsed["EMAIL_HOST_USER"] or "",
        "password": parsed["EMAIL_HOST_PASSWORD"] or "",
        "use_ssl": use_ssl,
        "use_tls": use_tls,
        "timeout": settings.EMAIL_TIMEOUT,
    }


# Channels offered only once their provider's credentials are set: the settings each needs.
PROVIDER_SETTINGS: dict[str, tuple[str, ...]] = {
    "sms": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"),
    "telegram": ("TELEGRAM_BOT_TOKEN",),
    "slack": ("SLACK_BOT_TOKEN",),
}
# Each setting's shape, where one is known; the values are secrets, never echoed.
_SHAPES = {
    "TWILIO_ACCOUNT_SID": (re.compile(r"AC[0-9a-fA-F]{32}"), "AC and 32 hexadecimal digits"),
    "TELEGRAM_BOT_TOKEN": (re.compile(r"[0-9]+:[A-Za-z0-9_-]+"), "<bot id>:<secret>, as BotFather gives it"),
    "SLACK_BOT_TOKEN": (re.compile(r"xox[a-z]-[A-Za-z0-9-]+"), "xoxb-…, as Slack gives it"),
}


# Every channel this code can send, configured here or not: what the API documents, so the
# OpenAPI document is the same on every deployment (which are offered depends on settings).
KNOWN_CHANNELS = ("webhook", "email", "console", "push", "sms", "telegram", "slack")


def unconfigured(channel: str) -> tuple[str, ...]:
    """The settings a known channel waits for while its provider is not configured (so the
    API can say what the operator must set); ``()`` for a configured or unknown channel."""
    names = PROVIDER_SETTINGS.get(channel, ())
    return names if not all(getattr(settings, name) for name in names) else ()


def _check_api_providers() -> None:
    """A provider is configured with all its credentials or none: half of them is a typo
    that would otherwise hide the channel. Base URLs are http(s) with a host."""
    timeout = settings.PROVIDER_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ImproperlyConfigured(f"PROVIDER_TIMEOUT: {timeout!r} is not a number of seconds above 0.")
    for channel, names in PROVIDER_SETTINGS.items():
        given = [name for name in names if getattr(settings, name)]
        if given and len(given) < len(names):
            missing = next(name for name in names if not getattr(settings, name))
            raise ImproperlyConfigured(f"{missing}: required for the {channel} channel, since {given[0]} is set.")
        for name in given:
            shape = _SHAPES.get(name)
            if shape and not shape[0].fullmatch(getattr(settings, name)):
                raise ImproperlyConfigured(f"{name}: not {shape[1]}.")
    for name in ("TWILIO_API_URL", "TELEGRAM_API_URL", "SLACK_API_URL"):
        _check_base_url(name, getattr(settings, name))


def _check_base_url(name: str, value: str) -> None:
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ImproperlyConfigured(f"{name}: not a URL ({exc}).") from exc
    if url.scheme not in ("http", "https") or not url.host or url.query or url.userinfo:
        raise ImproperlyConfigured(f"{name}: not an http(s):// base URL with a host and no query or credentials.")


def _check_proxy(proxy: str) -> None:
    """The value is never echoed: a proxy URL may carry a password."""
    if not proxy:
        return
    try:
        url = httpx.URL(proxy)
    except httpx.InvalidURL as exc:
        raise ImproperlyConfigured(f"WEBHOOK_PROXY: not a URL ({exc}).") from exc
    if url.scheme not in ("http", "https") or not url.host or not 0 < (url.port or 80) < 65536:
        raise ImproperlyConfigured("WEBHOOK_PROXY: not an http:// or https:// URL with a host and a valid port.")


def push_provider() -> PushProvider:
    """``push``: Expo always (it needs no credentials), FCM when ``FCM_CREDENTIALS`` is set."""
    fcm = None
    if settings.FCM_CREDENTIALS:
        fcm = FcmClient(
            credentials_file=settings.FCM_CREDENTIALS,
            project_id=settings.FCM_PROJECT_ID,
            base_url=settings.FCM_API_URL,
            timeout=settings.PROVIDER_TIMEOUT,
        )
    expo = ExpoClient(
        base_url=settings.EXPO_API_URL, access_token=settings.EXPO_ACCESS_TOKEN, timeout=settings.PROVIDER_TIMEOUT
    )
    return PushProvider(expo=expo, fcm=fcm)


# What a service-account JSON must hold for google-auth to fetch an FCM access token.
_SERVICE_ACCOUNT_KEYS = ("client_email", "private_key", "token_uri")


def _check_push() -> None:
    """``FCM_CREDENTIALS``, when set, names a readable service-account JSON whose key loads, and
    a project is known; the base URLs are http(s) with a host. The file's content is never
    echoed: it holds a private key."""
    for name in ("FCM_API_URL", "EXPO_API_URL"):
        try:
            url = httpx.URL(getattr(settings, name))
        except httpx.InvalidURL as exc:
            raise ImproperlyConfigured(f"{name}: not a URL ({exc}).") from exc
        if url.scheme not in ("http", "https") or not url.host or url.query or url.userinfo:
            raise ImproperlyConfigured(f"{name}: not an http(s):// base URL with a host and no query or credentials.")
    path = settings.FCM_CREDENTIALS
    if not path:
        return
    try:
        with open(path, encoding="utf-8") as file:
            account = json.load(file)
    except OSError as exc:
        raise ImproperlyConfigured(f"FCM_CREDENTIALS: {path} cannot be read ({exc.strerror}).") from None
    except ValueError:
        raise ImproperlyConfigured(f"FCM_CREDENTIALS: {path} is not JSON.") from None
    missing = [key for key in _SERVICE_ACCOUNT_KEYS if not isinstance(account, dict) or not account.get(key)]
    if missing or account.get("type") != "service_account":
        raise ImproperlyConfigured(
            f"FCM_CREDENTIALS: {path} is not a service-account key file (type service_account with "
            f"{', '.join(_SERVICE_ACCOUNT_KEYS)})."
        )
    if not (settings.FCM_PROJECT_ID or account.get("project_id")):
        raise ImproperlyConfigured(f"FCM_PROJECT_ID: not set, and {path} names no project_id.")
    try:
        FcmClient(credentials_file=path, project_id=settings.FCM_PROJECT_ID, base_url=settings.FCM_API_URL)
    except ValueError:
        raise ImproperlyConfigured(f"FCM_CREDENTIALS: the private key in {path} does not load.") from None


def _build() -> dict[str, Provider]:
    """The providers, configured from the settings: the delivery layer's one reader of them."""
    providers: list[Provider] = [
        WebhookProvider(
            timeout=settings.WEBHOOK_TIMEOUT,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
            proxy=settings.WEBHOOK_PROXY,
            user_agent=f"notifier/{__version__}",
        ),
        EmailProvider(from_email=settings.DEFAULT_FROM_EMAIL, fallback=email_fallback()),
        ConsoleProvider(),
        push_provider(),
    ]
    if not unconfigured("sms"):
        providers.append(
            TwilioProvider(
                account_sid=settings.TWILIO_ACCOUNT_SID,
                auth_token=settings.TWILIO_AUTH_TOKEN,
                from_=settings.TWILIO_FROM,
                base_url=settings.TWILIO_API_URL,
                timeout=settings.PROVIDER_TIMEOUT,
            )
        )
    if not unconfigured("telegram"):
        providers.append(
            TelegramProvider(
                bot_token=settings.TELEGRAM_BOT_TOKEN,
                base_url=settings.TELEGRAM_API_URL,
                timeout=settings.PROVIDER_TIMEOUT,
            )
        )
    if not unconfigured("slack"):
        providers.append(
            SlackProvider(
                bot_token=settings.SLACK_BOT_TOKEN, base_url=settings.SLACK_API_URL, timeout=settings.PROVIDER_TIMEOUT
            )
        )
    return {provider.name: provider for provider in providers}


@cache
def _providers() -> dict[str, Provider]:
    return _build()


def get_provider(channel: str) -> Provider:
    """The provider for ``channel``; ``UnknownChannel`` (a ``PermanentError``) when there is none."""
    try:
        return _providers()[channel]
    except KeyError:
        raise UnknownChannel(channel) from None


def channel_names() -> list[str]:
    return list(_providers())


def reset() -> None:
    """Forget built providers, so changed settings take effect (tests, reloads)."""
    _providers.cache_clear()
