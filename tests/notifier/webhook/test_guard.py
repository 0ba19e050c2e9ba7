"""Private targets: refused by the webhook provider at create and again at send, unless allowed."""

from __future__ import annotations

import pytest

from notifier import PermanentError, TransientError, get_provider
from tests.notifier.test_netguard import find_loopback_hostname
from tests.notifier.webhook.conftest import message

# --- the send-time guard against private targets --------------------------------


@pytest.fixture
def guarded(settings):
    """The provider as production builds it: private targets refused."""
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.WEBHOOK_TIMEOUT = 5.0
    return get_provider("webhook")


def test_a_loopback_target_is_refused_at_send_time_and_receives_nothing(guarded, sink):
    with pytest.raises(PermanentError, match="refused"):
        guarded.send(message(sink.url, payload={"leak": True}))
    assert sink.requests == []


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "[::ffff:127.0.0.1]", "localhost"])
def test_odd_spellings_of_loopback_are_refused_at_send_time(guarded, sink, host):
    port = sink.server.server_address[1]

    with pytest.raises(PermanentError):
        guarded.send(message(f"http://{host}:{port}/hook", payload={}))

    assert sink.requests == []


def test_a_name_resolving_to_loopback_is_refused_at_send_time(guarded, sink):
    name = find_loopback_hostname()
    port = sink.server.server_address[1]
    assert guarded.validate_recipient(f"http://{name}:{port}/hook")  # its spelling passes at create ...

    with pytest.raises(PermanentError, match="non-public"):
        guarded.send(message(f"http://{name}:{port}/hook", payload={}))  # ... its address does not at send

    assert sink.requests == []


def test_the_same_name_is_delivered_when_private_targets_are_allowed(make_provider, sink):
    name = find_loopback_hostname()
    port = sink.server.server_address[1]

    make_provider(allow_private=True).send(message(f"http://{name}:{port}/hook", payload={"ok": 1}))

    [received] = sink.wait_for(1)
    assert received.headers["host"] == f"{name}:{port}"


def test_an_unresolvable_target_is_transient(guarded):
    with pytest.raises(TransientError, match="cannot resolve"):
        guarded.send(message("https://nothing-here.invalid/hook", payload={}))


# --- recipient validation (create time) -----------------------------------------


@pytest.mark.parametrize(
    "recipient",
    [
        "ftp://example.com/hook",
        "example.com/hook",
        "https://",
        "https://user:pw@example.com/hook",
        "https://example.com:99999/hook",
        "http://127.0.0.1/hook",
        "http://127.1/hook",
        "http://[::1]/hook",
        "http://localhost:8000/hook",
        "http://x.localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://999.1.1.1/hook",
        "http://01.02.03.04/hook",
    ],
)
def test_bad_or_private_recipients_are_refused_at_create(guarded, recipient):
    with pytest.raises(ValueError):
        guarded.validate_recipient(recipient)


@pytest.mark.parametrize("recipient", ["http://999.1.1.1/hook", "http://01.02.03.04/hook"])
def test_a_url_the_http_client_cannot_parse_fails_permanently_at_send(make_provider, recipient):
    with pytest.raises(PermanentError, match="invalid URL"):
        make_provider(allow_private=True).send(message(recipient, payload={}))


def test_a_public_https_recipient_is_accepted_and_trimmed(guarded):
    assert guarded.validate_recipient("  https://hooks.example.com/in?x=1  ") == "https://hooks.example.com/in?x=1"


def test_private_recipients_are_accepted_when_allowed(provider, sink):
    assert provider.validate_recipient(sink.url) == sink.url


@pytest.mark.parametrize("recipient", ["http://example.com:0/hook", "https://hooks.example.com:00/hook"])
def test_port_zero_is_refused_at_create(guarded, recipient):
    with pytest.raises(ValueError, match="port"):
        guarded.validate_recipient(recipient)


@pytest.mark.parametrize("recipient", ["http://127.0.0.1/hook", "http://localhost:8000/hook", "http://[::1]/hook"])
def test_the_refusal_at_create_names_the_setting_that_allows_private_targets(guarded, recipient):
    with pytest.raises(ValueError, match="WEBHOOK_ALLOW_PRIVATE=true"):
        guarded.validate_recipient(recipient)


def test_the_refusal_at_send_names_the_setting_that_allows_private_targets(guarded, sink):
    name = find_loopback_hostname()
    port = sink.server.server_address[1]

    for url in (sink.url, f"http://{name}:{port}/hook"):
        with pytest.raises(PermanentError, match="WEBHOOK_ALLOW_PRIVATE=true"):
            guarded.send(message(url, payload={}))

    assert sink.requests == []
