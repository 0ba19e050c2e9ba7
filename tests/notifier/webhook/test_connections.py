"""Which connection a webhook travels on: pooled by hostname even when the address is
pinned, never through a proxy named in the environment, through WEBHOOK_PROXY when
set. Real servers on loopback: a sink (plain and TLS), a recording proxy."""

from __future__ import annotations

import socket
import ssl

import pytest
import trustme

from notifier import PermanentError, Receipt, TransientError, get_provider
from tests.notifier.test_netguard import find_loopback_hostname
from tests.notifier.webhook.conftest import message
from tests.notifier.webhook.servers import RecordingProxy, tls_sink

PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"]


def loopback_alias() -> str:
    """A second name for 127.0.0.1 (besides the literal) that passes the spelling check."""
    name = find_loopback_hostname()
    if socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)[0][4][0] != "127.0.0.1":
        pytest.skip(f"{name} does not resolve to 127.0.0.1 first on this machine")
    return name


@pytest.fixture
def loopback_counts_as_public(monkeypatch):
    """The guard stays on, but judges loopback public, so two local names stand in for
    two public names on one shared address (a CDN, a hosting provider)."""
    monkeypatch.setattr("notifier.netguard.is_public", lambda address: True)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusting(ca) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def proxy():
    server = RecordingProxy().start()
    yield server
    server.stop()


# --- pinned connections are pooled by hostname ---------------------------------


def test_two_hostnames_on_one_address_do_not_share_a_connection(make_provider, sink, loopback_counts_as_public):
    name, port = loopback_alias(), sink.server.server_address[1]
    provider = make_provider(allow_private=False)

    for host in (name, "127.0.0.1", name):
        provider.send(message(f"http://{host}:{port}/hook", payload={}))

    first, second, third = sink.wait_for(3)
    hosts = [r.headers["host"] for r in (first, second, third)]
    assert hosts == [f"{name}:{port}", f"127.0.0.1:{port}", f"{name}:{port}"]
    assert second.client_port != first.client_port
    assert third.client_port == first.client_port  # the same hostname keeps its keep-alive connection


def test_a_tls_connection_for_one_name_is_not_reused_for_another_on_the_same_address(
    make_provider, ca, trusting, loopback_counts_as_public
):
    name = loopback_alias()
    with tls_sink(ca, name) as sink:  # a certificate for the alias only, not for 127.0.0.1
        port = sink.server.server_address[1]
        provider = make_provider(allow_private=False, ssl_context=trusting)

        provider.send(message(f"https://{name}:{port}/hook", payload={}))
        provider.send(message(f"https://{name}:{port}/hook", payload={}))
        with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
            provider.send(message(f"https://127.0.0.1:{port}/hook", payload={}))

        first, second = sink.requests
        assert first.headers["host"] == second.headers["host"] == f"{name}:{port}"
        assert first.client_port == second.client_port


# --- proxies ----------------------------------------------------------------------


def test_proxies_named_in_the_environment_are_ignored(monkeypatch, proxy, sink, allow_private):
    for variable in PROXY_VARIABLES:
        monkeypatch.setenv(variable, proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    get_provider("webhook").send(message(sink.url, payload={}))

    assert len(sink.wait_for(1)) == 1
    assert proxy.asked == []


def test_webhook_proxy_receives_the_hostname_of_a_plain_http_target(settings, proxy):
    settings.WEBHOOK_PROXY = proxy.url
    settings.WEBHOOK_ALLOW_PRIVATE = False  # the proxy's own loopback address is not refused

    # hooks.example.test resolves nowhere: only the proxy would look it up.
    receipt = get_provider("webhook").send(message("http://hooks.example.test/in?x=1", payload={}))

    assert receipt == Receipt(provider_message_id="via-proxy")
    [asked] = proxy.asked
    assert asked.request_line == "POST http://hooks.example.test/in?x=1 HTTP/1.1"
    assert asked.headers["host"] == "hooks.example.test"


def test_webhook_proxy_is_asked_to_connect_to_the_hostname_of_a_tls_target(make_provider, ca, trusting):
    with tls_sink(ca, "hooks.example.test") as sink:
        proxy = RecordingProxy(upstream=("127.0.0.1", sink.server.server_address[1])).start()
        try:
            provider = make_provider(allow_private=False, proxy=proxy.url, ssl_context=trusting)
            provider.send(message("https://hooks.example.test/hook", payload={"via": "tunnel"}))
        finally:
            proxy.stop()

        [received] = sink.wait_for(1)
        assert received.headers["host"] == "hooks.example.test"
        assert [asked.request_line for asked in proxy.asked] == ["CONNECT hooks.example.test:443 HTTP/1.1"]


def test_a_private_literal_target_is_refused_even_through_the_proxy(make_provider, proxy):
    provider = make_provider(allow_private=False, proxy=proxy.url)

    with pytest.raises(PermanentError, match="WEBHOOK_ALLOW_PRIVATE=true"):
        provider.send(message("http://127.0.0.1:8080/hook", payload={}))

    assert proxy.asked == []
