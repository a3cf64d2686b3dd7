"""DNS pinning for the Scrapy spider: each host is resolved once, checked, and connected to
at exactly the address that was checked.

`fetching.GuardedTransport` does this for httpx. Scrapy resolves names itself (through
the reactor's resolver), so checking a host in a middleware and letting Twisted resolve
it again would leave a window: a DNS answer that changes between the two lookups (DNS
rebinding) could send the connection to a private address. Here the middleware and the
resolver share one `AddressPins` per crawl: the middleware asks it (resolve + check, a
refusal becomes a readable IgnoreRequest) and `PinnedResolver`, installed on the reactor
with TWISTED_DNS_RESOLVER, answers from the same pins, never from a second lookup.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twisted.internet import defer, threads
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer  # type: ignore[import-untyped]

from services.collector.fetching import AddressGuard, IPAddress, RefusedError, resolve
from services.core.settings import CollectorSettings

Lookup = Callable[[str, int], list[IPAddress]]


class AddressPins:
    """The one address each host of a crawl connects to, checked against the guard."""

    def __init__(
        self,
        guard: AddressGuard,
        *,
        overrides: Mapping[str, str] | None = None,
        lookup: Lookup = resolve,
    ) -> None:
        self._guard = guard
        # host -> IP, like curl --resolve: tests name a host that no DNS knows
        self._overrides = {k.lower(): v for k, v in (overrides or {}).items()}
        self._lookup = lookup
        self._pinned: dict[str, str] = {}
        self._lock = threading.Lock()

    def address(self, host: str) -> str:
        """The checked address to connect to for `host`; resolved on first use only.

        Raises RefusedError (a non-public address not allowed) or UnreachableError."""
        name = host.strip("[]").lower()
        with self._lock:
            if name in self._pinned:
                return self._pinned[name]
        if name in self._overrides:
            addresses = [ipaddress.ip_address(self._overrides[name])]
        else:
            addresses = self._lookup(name, 0)
        for candidate in addresses:  # every answer must be allowed, as fetching.fetch does
            reason = self._guard.refusal(candidate)
            if reason:
                shown = f"{name} resolves to {candidate},"
                if name == str(candidate):
                    shown = f"{candidate} is"
                raise RefusedError(f"{shown} {reason} ({self._guard.hint})")
        chosen = next((a for a in addresses if a.version == 4), addresses[0])
        with self._lock:
            return self._pinned.setdefault(name, str(chosen))


_crawl_pins: dict[tuple[Any, ...], AddressPins] = {}
_crawl_pins_lock = threading.Lock()


def pins_for(allowed_networks: Sequence[str], overrides: Mapping[str, str]) -> AddressPins:
    """The pins shared by the middleware and the resolver of crawls with these settings.

    A crawl runs in its own worker process, so in practice there is one per process."""
    key = (tuple(allowed_networks), tuple(sorted(overrides.items())))
    with _crawl_pins_lock:
        if key not in _crawl_pins:
            guard = AddressGuard.from_settings(
                CollectorSettings(allowed_networks=list(allowed_networks))
            )
            _crawl_pins[key] = AddressPins(guard, overrides=overrides)
        return _crawl_pins[key]


def pins_from_settings(settings: Any) -> AddressPins:
    """The pins for a Scrapy settings object (VEILLE_ALLOWED_NETWORKS, VEILLE_RESOLVE)."""
    return pins_for(
        settings.getlist("VEILLE_ALLOWED_NETWORKS"), dict(settings.getdict("VEILLE_RESOLVE"))
    )


@implementer(IResolverSimple)
class PinnedResolver:
    """The reactor's resolver during a crawl: answers with the pinned, checked address."""

    def __init__(self, reactor: Any, pins: AddressPins) -> None:
        self.reactor = reactor
        self._pins = pins

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> PinnedResolver:
        """Scrapy builds the resolver from the process settings."""
        return cls(reactor, pins_from_settings(crawler.settings))

    def install_on_reactor(self) -> None:
        """Replaces the reactor's resolver for the whole (one-crawl) process."""
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        """The pinned address, resolved in a thread the first time."""
        return threads.deferToThreadPool(
            self.reactor, self.reactor.getThreadPool(), self._pins.address, name
        )


__all__ = ["AddressPins", "PinnedResolver", "RefusedError", "pins_for", "pins_from_settings"]
