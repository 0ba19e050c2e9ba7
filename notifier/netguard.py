"""Refuse private, loopback, link-local and unspecified targets.

Hand-written because no maintained library covers both halves we need: the
create-time check on the URL's spelling (including the legacy IPv4 forms that
``inet_aton`` and every HTTP client accept — ``127.1``, ``2130706433``,
``0x7f.0.0.1``) and the send-time check on every address the name resolves to,
whose result is then the address we connect to, so DNS cannot answer
differently between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import queue
import socket
import threading

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenAddress(ValueError):
    """The target is not a public address."""


class Unresolvable(LookupError):
    """The name does not resolve, for now: DNS may answer later."""


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form a client would accept, or ``None``."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64 (well-known
# and local-use) and the deprecated IPv4-compatible form. A relay would forward
# a connection to that IPv4 address, so it must be public too.
_IPV4_IN_LOW_BITS = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96"))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in _IPV4_IN_LOW_BITS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Globally routable and unicast, including any IPv4 address an IPv6 one carries."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public(embedded):
            return False
        if address.ipv4_mapped is not None:
            return True  # judged by its IPv4 address alone
    return address.is_global and not address.is_multicast


def check_host_spelling(host: str) -> None:
    """Create-time check: refuse ``localhost`` names and non-public literals."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        raise ForbiddenAddress(f"{host} is a loopback name.")
    address = literal_address(name)
    if address is not None and not is_public(address):
        raise ForbiddenAddress(f"{host} is not a public address ({address}).")


def _getaddrinfo(host: str, port: int, timeout: float | None) -> list:
    """``socket.getaddrinfo``, given up on after ``timeout`` seconds.

    The C resolver takes no timeout (glibc waits 5 s per server and attempt), and a
    receiver runs its own name server: the lookup runs on a helper thread, left to
    finish on its own when the caller stops waiting.
    """
    if timeout is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    answer: queue.SimpleQueue = queue.SimpleQueue()

    def lookup() -> None:
        try:
            answer.put((socket.getaddrinfo(host, port, type=socket.SOCK_STREAM), None))
        except Exception as exc:  # handed to the caller, raised there
            answer.put((None, exc))

    threading.Thread(target=lookup, name="resolve", daemon=True).start()
    try:
        infos, error = answer.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError(f"resolving {host} took longer than {timeout:.1f}s") from None
    if error is not None:
        raise error
    return infos


def resolve_public(host: str, port: int, *, timeout: float | None = None) -> IPAddress:
    """Send-time check: resolve ``host`` and return an address to connect to.

    Every address the name resolves to must be public; one private answer is
    enough to refuse, since we cannot know which one a later lookup would pick.
    A lookup longer than ``timeout`` seconds raises ``TimeoutError``.
    """
    check_host_spelling(host)
    literal = literal_address(host)
    if literal is not None:
        return literal
    try:
        infos = _getaddrinfo(host, port, timeout)
    except socket.gaierror as exc:
        raise Unresolvable(f"cannot resolve {host}: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if not is_public(address):
            raise ForbiddenAddress(f"{host} resolves to a non-public address ({address}).")
    return addresses[0]
