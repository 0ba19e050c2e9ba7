"""The delivery layer's settings: checked at process start, naming the setting that cannot work."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifier import registry


@pytest.mark.parametrize(
    "proxy",
    ["socks5://127.0.0.1:1080", "proxy.example.com:3128", "http://", "http://proxy.example.com:99999", "ftp://p:21"],
)
def test_a_webhook_proxy_that_cannot_work_stops_the_process_naming_the_setting(settings, proxy):
    settings.WEBHOOK_PROXY = proxy

    with pytest.raises(ImproperlyConfigured, match=r"^WEBHOOK_PROXY: "):
        registry.check_settings()


@pytest.mark.parametrize(
    "proxy", ["", "http://proxy.internal:3128", "https://proxy.internal", "http://user:secret@10.0.0.5:3128/"]
)
def test_a_usable_webhook_proxy_or_none_passes(settings, proxy):
    settings.WEBHOOK_PROXY = proxy

    registry.check_settings()


def test_the_webhook_provider_is_built_with_the_proxy_setting(settings):
    settings.WEBHOOK_PROXY = "http://proxy.internal:3128"

    assert registry.get_provider("webhook").proxy == "http://proxy.internal:3128"
