"""Which addresses an outgoing HTTP request may reach (SSRF guard), and its errors.

Every URL Veille fetches is user input (a source, a webhook), so a request must not become
a way into the private network: every host is resolved first and refused when any of its
addresses is private, loopback, link-local, multicast, reserved or unspecified, unless it
lies in the allowed networks. The connection then goes to an address that passed the check
(a second DNS answer cannot swap in another one). Shared by the collector
(`services.collector.fetching`) and the webhook notifier, below both.

Errors are `FetchError`s with a short message meant for people and a `kind` meant for
programs ('unreachable', 'timeout', 'refused', ...).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from services.core.settings import CollectorSettings
from services.net.deadline import Deadline, DeadlineStream

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_ALLOWED_HINT = "allow it with collector.allowed_networks"


class FetchError(Exception):
    """A fetch failed; `str(error)` is a short message for people, `kind` names the
    failure for programs (stored with the run as its error kind)."""

    kind = "network"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UnreachableError(FetchError):
    """The host could not be resolved or connected to."""

    kind = "unreachable"

    def __init__(self, detail: str) -> None:
        super().__init__(f"unreachable: {detail}")


class FetchTimeoutError(UnreachableError):
    """The whole fetch (connect, headers, body, redirects) took longer than allowed."""

    kind = "timeout"

    def __init__(self, seconds: float, doing: str = "") -> None:
        super().__init__(
            f"timed out after {format_seconds(seconds)} s" + (f" ({doing})" if doing else "")
        )
        self.seconds = seconds
        self.doing = doing


def format_seconds(seconds: float) -> str:
    """A duration for a message: '20', '1.5', '0.25'; a positive one never shows as '0'."""
    return f"{seconds:.0f}" if seconds >= 100 else f"{seconds:.3g}"


class RefusedError(FetchError):
    """The URL or one of its addresses is not allowed (scheme, private address, an
    invalid URL or redirect target)."""

    kind = "refused"

    def __init__(self, detail: str) -> None:
        super().__init__(f"refused: {detail}")


# -- addresses ------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressGuard:
    """Decides which IP addresses a fetch may connect to."""

    allowed: tuple[IPNetwork, ...] = ()
    hint: str = _ALLOWED_HINT  # how a refused user can allow a network, in their settings

    @classmethod
    def from_settings(
        cls, settings: CollectorSettings, *, hint: str = _ALLOWED_HINT
    ) -> AddressGuard:
        """Builds the guard from `collector.allowed_networks`."""
        networks = tuple(ipaddress.ip_network(n, strict=False) for n in settings.allowed_networks)
        return cls(networks, hint)

    def refusal(self, address: IPAddress) -> str | None:
        """Why this address is refused ('a loopback address'), or None when allowed."""
        candidates = [*_embedded_ipv4(address), address]
        if any(c in network for c in candidates for network in self.allowed):
            return None
        for candidate in candidates:
            reason = _non_public_reason(candidate)
            if reason:
                return reason
        return None

    def check_host(self, host: str, port: int, *, timeout: float | None = None) -> list[IPAddress]:
        """Resolves a host (within `timeout` seconds); raises UnreachableError or
        RefusedError unless all its addresses are allowed. Returns them, in resolver order."""
        addresses = resolve(host, port, timeout=timeout)
        for address in addresses:
            reason = self.refusal(address)
            if reason:
                shown = host.strip("[]")
                subject = (
                    f"{address} is" if shown == str(address) else f"{shown} resolves to {address},"
                )
                raise RefusedError(f"{subject} {reason} ({self.hint})")
        return addresses


def resolve(host: str, port: int, *, timeout: float | None = None) -> list[IPAddress]:
    """Resolves a host name (or IP literal) to its TCP addresses, without duplicates;
    FetchTimeoutError when the resolver takes longer than `timeout` seconds."""
    name = host.strip("[]")
    if not name:
        raise RefusedError("the URL has no host")
    literal = _ip_literal(name)
    if literal is not None:
        # Nothing to look up: no resolver thread, so no time-out that a busy machine
        # could trip before the thread even runs.
        return [literal]
    try:
        infos = _getaddrinfo(name, port, timeout)
    except (socket.gaierror, UnicodeError, ValueError):
        raise UnreachableError(f"cannot resolve host {name}") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        try:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        except ValueError:
            continue
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnreachableError(f"cannot resolve host {name}")
    return addresses


def _getaddrinfo(name: str, port: int, timeout: float | None) -> list[Any]:
    """socket.getaddrinfo, bounded in time: it has no time-out of its own, and a slow
    authoritative server (which whoever owns the domain controls) would hold the fetch
    past its deadline. A resolution given up on finishes in its daemon thread."""
    if timeout is None:
        return socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["infos"] = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=work, name="veille-resolve", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise FetchTimeoutError(timeout, f"resolving {name[:100]}")
    if "error" in outcome:
        raise outcome["error"]
    return list(outcome["infos"])


def _ip_literal(name: str) -> IPAddress | None:
    """The address a host written as a canonical IP literal stands for, else None (a name,
    or a form only the resolver reads, such as '127.1' or a scoped 'fe80::1%eth0')."""
    if "%" in name:
        return None
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def _embedded_ipv4(address: IPAddress) -> list[IPAddress]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    embedded: list[IPAddress] = []
    if address.ipv4_mapped is not None:
        embedded.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        embedded.append(address.sixtofour)
    if address.teredo is not None:
        embedded.append(address.teredo[1])
    if address in _NAT64:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return embedded


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _non_public_reason(address: IPAddress) -> str | None:
    # Most specific first: 127.0.0.1 is also "private" to the ipaddress module.
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the guard allows, resolving the host itself."""

    def __init__(self, guard: AddressGuard, deadline: Deadline | None = None) -> None:
        self._guard = guard
        self.deadline = deadline or Deadline()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        remaining = self.deadline.remaining()
        if remaining is not None and remaining <= 0:
            raise httpcore.ConnectTimeout("the fetch deadline passed")
        addresses = self._guard.check_host(host, port, timeout=remaining)
        last_error: Exception | None = None
        for address in addresses:
            self.deadline.check()
            remaining = self.deadline.remaining()
            if remaining is not None and remaining <= 0:
                raise httpcore.ConnectTimeout("the fetch deadline passed")
            bounded = remaining if timeout is None or remaining is None else min(timeout, remaining)
            try:
                stream = super().connect_tcp(
                    str(address), port, bounded, local_address, socket_options
                )
                return DeadlineStream(stream, self.deadline)
            except httpcore.ConnectTimeout:
                raise
            except httpcore.ConnectError as error:
                last_error = error
        assert last_error is not None  # check_host returns at least one address
        raise last_error


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with a connection pool on the guarded network backend.

    `deadline` bounds every socket operation of the request being made: call
    `deadline.start(seconds)` before each request (one thread uses a transport)."""

    def __init__(self, guard: AddressGuard, *, max_connections: int = 4) -> None:
        context = _ssl_context()
        super().__init__(verify=context, trust_env=False)
        self.deadline = Deadline()
        # httpx has no public hook for the network backend: swap the pool it built.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=max_connections,
            network_backend=GuardedBackend(guard, self.deadline),
        )


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Building one loads the CA bundle (~30 ms); a context is safe to share.
    return httpx.create_ssl_context(trust_env=False)


# -- requests and responses -------------------------------------------------------------
