"""DNS pinning: a host is resolved once, checked, and connected to at that address."""

from __future__ import annotations

import ipaddress

import pytest

from services.collector.fetching import AddressGuard, IPAddress, RefusedError, UnreachableError
from services.collector.web.pinning import AddressPins
from tests.httpserver import HTTPTestServer
from tests.web.test_spiders import _crawl_outcome, _serve_thread


class RebindingDns:
    """A fake DNS (no real resolver can be scripted here): answers `answers` in turn,
    as a rebinding attacker's name server would."""

    def __init__(self, *answers: str) -> None:
        self.answers = [ipaddress.ip_address(a) for a in answers]
        self.calls = 0

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [answer]


def test_the_first_checked_answer_is_kept_for_the_whole_crawl() -> None:
    dns = RebindingDns("93.184.216.34", "127.0.0.1")
    pins = AddressPins(AddressGuard(), lookup=dns)
    assert pins.address("news.example") == "93.184.216.34"
    assert pins.address("NEWS.example") == "93.184.216.34"  # the private answer never used
    assert dns.calls == 1


def test_a_private_answer_is_refused_with_the_reason() -> None:
    pins = AddressPins(AddressGuard(), lookup=RebindingDns("10.0.0.7"))
    with pytest.raises(RefusedError, match=r"intranet.example resolves to 10\.0\.0\.7, a private"):
        pins.address("intranet.example")
    allowed = AddressGuard(allowed=(ipaddress.ip_network("10.0.0.0/8"),))
    assert AddressPins(allowed, lookup=RebindingDns("10.0.0.7")).address("x.example") == "10.0.0.7"


def test_an_unknown_host_is_unreachable() -> None:
    with pytest.raises(UnreachableError):
        AddressPins(AddressGuard()).address("no-such-host.invalid")


def test_the_spider_connects_where_the_pins_say() -> None:
    # forum.test exists in no DNS: the page is reached only through the pinned address
    with HTTPTestServer() as server:
        url = _serve_thread(server).replace("127.0.0.1", "forum.test")
        outcome = _crawl_outcome(url, resolve={"forum.test": "127.0.0.1"})
        assert [item["author"] for item in outcome["items"]][:2] == ["rider_ann", "mechanic_bob"]
        first = server.requests_for("/topic/77-veloria/")[0]
        assert first.headers["host"].startswith("forum.test:")


def test_a_name_resolving_to_loopback_is_refused_unless_allowed() -> None:
    with HTTPTestServer() as server:
        url = _serve_thread(server)
        for host in ("forum.test", "localhost"):  # pinned by the test, and the system's
            named = url.replace("127.0.0.1", host)
            outcome = _crawl_outcome(named, allowed=(), resolve={"forum.test": "127.0.0.1"})
            assert outcome["items"] == []
            assert outcome["stats"]["errors"] == {"refused": 1}
            assert outcome["stats"]["pages_fetched"] == 0
        assert server.requests == []
        allowed = _crawl_outcome(url.replace("127.0.0.1", "localhost"))
        assert len(allowed["items"]) == 4
