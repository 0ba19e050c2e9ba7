"""notifier.netguard: which webhook targets are refused, by spelling and by resolution."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from notifier.netguard import ForbiddenAddress, check_host_spelling, literal_address, resolve_public

# Every spelling a client (inet_aton, curl, httpx) reads as a non-public address.
NON_PUBLIC_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f.0.0.1",
    "0x7f000001",
    "0177.0.0.1",
    "0",
    "[::1]",
    "::1",
    "::ffff:127.0.0.1",
    "[::ffff:7f00:1]",
    "::",
    "fe80::1",
    "fc00::1",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",
    "0.0.0.0",
    "100.64.0.1",
    "224.0.0.1",
    "255.255.255.255",
    # IPv6 forms that carry a private IPv4 address a relay would forward to
    "64:ff9b::7f00:1",  # NAT64
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4
    "::127.0.0.1",  # IPv4-compatible
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
]
LOOPBACK_NAMES = ["localhost", "LOCALHOST", "localhost.", "LOCALHOST.", "x.localhost", "a.b.LocalHost."]
PUBLIC_LITERALS = ["93.184.216.34", "8.8.8.8", "2606:4700::1", "[2606:4700::1]", "::ffff:8.8.8.8", "64:ff9b::808:808"]


def find_loopback_hostname() -> str:
    """A name that passes the spelling check but resolves to a loopback/private address.

    This machine's /etc/hosts maps its own hostname to 127.0.0.1: the kind of
    name only the send-time resolution check can catch.
    """
    candidates = [socket.gethostname(), socket.getfqdn(), "localhost.localdomain", "ip6-localhost", "ip6-loopback"]
    for name in candidates:
        try:
            check_host_spelling(name)
        except ForbiddenAddress:
            continue  # spelled as localhost: caught by its spelling already
        try:
            infos = socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)
        except socket.gaierror:
            continue
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        if any(address.is_loopback or address.is_private for address in addresses):
            return name
    raise AssertionError(f"none of {candidates} resolves to a loopback address on this machine")


@pytest.fixture(scope="module")
def loopback_hostname() -> str:
    return find_loopback_hostname()


# --- literal_address ------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("93.184.216.34", "93.184.216.34"),
        ("2606:4700::1", "2606:4700::1"),
    ],
)
def test_literal_address_reads_every_form_a_client_accepts(host, expected):
    assert literal_address(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize("host", ["example.com", "localhost", "vm", "1.2.3.4.5", "127.0.0.256", "::g", ""])
def test_literal_address_of_a_name_is_none(host):
    assert literal_address(host) is None


# --- check_host_spelling (create time) -----------------------------------------


@pytest.mark.parametrize("host", NON_PUBLIC_SPELLINGS)
def test_non_public_literals_are_refused_by_spelling(host):
    with pytest.raises(ForbiddenAddress, match="not a public address"):
        check_host_spelling(host)


@pytest.mark.parametrize("host", LOOPBACK_NAMES)
def test_localhost_names_are_refused_by_spelling(host):
    with pytest.raises(ForbiddenAddress, match="loopback name"):
        check_host_spelling(host)


@pytest.mark.parametrize("host", [*PUBLIC_LITERALS, "example.com", "hooks.example.com", "localhost.example.com"])
def test_public_literals_and_names_pass_the_spelling_check(host):
    check_host_spelling(host)  # does not raise


def test_a_trailing_dot_does_not_smuggle_a_literal():
    with pytest.raises(ForbiddenAddress):
        check_host_spelling("127.0.0.1.")


# --- resolve_public (send time) ------------------------------------------------


@pytest.mark.parametrize("host", PUBLIC_LITERALS)
def test_resolve_public_returns_a_public_literal_as_is(host):
    address = resolve_public(host, 443)
    assert address == literal_address(host)
    assert address.is_global


@pytest.mark.parametrize("host", NON_PUBLIC_SPELLINGS + LOOPBACK_NAMES)
def test_resolve_public_refuses_non_public_spellings(host):
    with pytest.raises(ForbiddenAddress):
        resolve_public(host, 80)


def test_a_name_that_resolves_to_loopback_is_refused_at_send_time(loopback_hostname):
    check_host_spelling(loopback_hostname)  # the create-time check cannot see it ...
    with pytest.raises(ForbiddenAddress, match="resolves to a non-public address"):
        resolve_public(loopback_hostname, 80)  # ... the send-time one does


def test_an_unresolvable_name_is_a_lookup_error_not_a_refusal():
    with pytest.raises(LookupError, match="cannot resolve") as caught:
        resolve_public("nothing-here.invalid", 443)
    assert not isinstance(caught.value, ForbiddenAddress)
