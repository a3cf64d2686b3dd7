"""fetch() against a real HTTP server: redirects, SSRF guard, limits, time-outs, 304s."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from services.collector.fetching import (
    AddressGuard,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    RefusedError,
    TooLargeError,
    TooManyRedirectsError,
    UnreachableError,
    fetch,
)
from services.core.settings import CollectorSettings
from tests.httpserver import HTTPTestServer
from tests.ports import refusing_port

MB = 1024 * 1024
RSS = b'<rss version="2.0"><channel><title>t</title></channel></rss>'


def fifty_megabytes() -> Iterator[bytes]:
    """A 50 MB body, produced lazily so the server never holds it either."""
    chunk = b"<!-- padding -->" * 4096  # 64 KB
    for _ in range(50 * MB // len(chunk)):
        yield chunk


# -- plain fetches ----------------------------------------------------------------------


def test_fetch_returns_body_headers_and_sends_feed_headers(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    server.add("/feed.xml", body=RSS, headers={"Content-Type": "application/rss+xml"})

    result = fetch(server.url("/feed.xml"), settings=settings)

    assert result.status == 200 and result.body == RSS and not result.not_modified
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.final_url == result.url == server.url("/feed.xml")
    sent = server.requests_for("/feed.xml")[0].headers
    assert sent["user-agent"] == "VeilleTest/1.0"
    assert sent["accept"].startswith("application/rss+xml, application/atom+xml")
    assert "gzip" in sent["accept-encoding"]
    assert "if-none-match" not in sent and "if-modified-since" not in sent


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_bodies_are_decoded(
    server: HTTPTestServer, settings: CollectorSettings, encoding: str
) -> None:
    if encoding == "gzip":
        packed = gzip.compress(RSS)
    elif encoding == "deflate":
        packed = zlib.compress(RSS)
    else:
        squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        packed = squeezer.compress(RSS) + squeezer.flush()
    header = "gzip" if encoding == "gzip" else "deflate"
    server.add("/z", body=packed, headers={"Content-Encoding": header})

    assert fetch(server.url("/z"), settings=settings).body == RSS


def test_gzip_bomb_is_stopped_at_the_limit(server: HTTPTestServer) -> None:
    settings = CollectorSettings(allowed_networks=["127.0.0.0/8"], max_feed_bytes=MB)
    bomb = gzip.compress(b"\0" * (64 * MB), compresslevel=9)  # ~64 KB on the wire
    server.add("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})

    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError) as raised:
            fetch(server.url("/bomb"), settings=settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(raised.value) == "too large: the feed exceeds 1.0 MB"
    assert peak < 8 * MB


def test_http_errors_have_short_messages(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    server.add("/boom", status=500, body=b"oops")
    with pytest.raises(HTTPStatusError) as missing:
        fetch(server.url("/missing"), settings=settings)
    with pytest.raises(HTTPStatusError) as boom:
        fetch(server.url("/boom"), settings=settings)
    assert str(missing.value) == "HTTP 404 Not Found" and missing.value.status == 404
    assert str(boom.value) == "HTTP 500 Internal Server Error"


# -- conditional GET --------------------------------------------------------------------


def test_conditional_get_with_etag(server: HTTPTestServer, settings: CollectorSettings) -> None:
    server.add("/feed.xml", body=RSS, headers={"ETag": '"v1"'})

    first = fetch(server.url("/feed.xml"), settings=settings)
    second = fetch(server.url("/feed.xml"), settings=settings, etag=first.etag)

    assert first.etag == '"v1"' and not first.not_modified
    assert second.not_modified and second.status == 304 and second.body == b""
    assert server.requests_for("/feed.xml")[1].headers["if-none-match"] == '"v1"'


def test_conditional_get_with_last_modified(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    stamp = "Tue, 05 Mar 2024 08:30:00 GMT"
    server.add("/feed.xml", body=RSS, headers={"Last-Modified": stamp})

    first = fetch(server.url("/feed.xml"), settings=settings)
    second = fetch(server.url("/feed.xml"), settings=settings, last_modified=first.last_modified)

    assert first.last_modified == stamp
    assert second.not_modified
    assert server.requests_for("/feed.xml")[1].headers["if-modified-since"] == stamp


# -- redirects ----------------------------------------------------------------------------


def test_redirects_are_followed_and_reported(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    server.redirect("/old", "/middle", status=301)
    server.redirect("/middle", server.url("/feed.xml"), status=307)
    server.add("/feed.xml", body=RSS)

    result = fetch(server.url("/old"), settings=settings)

    assert result.body == RSS
    assert result.url == server.url("/old") and result.final_url == server.url("/feed.xml")
    assert [r.path for r in server.requests] == ["/old", "/middle", "/feed.xml"]
    assert all(r.headers["user-agent"] == "VeilleTest/1.0" for r in server.requests)


def test_too_many_redirects(server: HTTPTestServer) -> None:
    settings = CollectorSettings(allowed_networks=["127.0.0.0/8"], max_redirects=2)
    server.redirect("/loop", "/loop")

    with pytest.raises(TooManyRedirectsError) as raised:
        fetch(server.url("/loop"), settings=settings)

    assert str(raised.value) == "too many redirects (more than 2)"
    assert len(server.requests_for("/loop")) == 3


def test_redirect_to_a_refused_address_is_refused() -> None:
    # The source is on an allowed address; it redirects to a loopback one that is not.
    settings = CollectorSettings(allowed_networks=["127.0.0.2/32"])
    with HTTPTestServer(host="127.0.0.2") as allowed, HTTPTestServer() as internal:
        internal.add("/admin", body=b"secret")
        allowed.redirect("/feed.xml", internal.url("/admin"))

        with pytest.raises(RefusedError) as raised:
            fetch(allowed.url("/feed.xml"), settings=settings)

        assert str(raised.value) == (
            "refused: 127.0.0.1 is a loopback address (allow it with collector.allowed_networks)"
        )
        assert len(allowed.requests_for("/feed.xml")) == 1
        assert internal.requests == []


def test_redirect_to_another_scheme_is_refused(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    server.redirect("/feed.xml", "file:///etc/passwd")
    with pytest.raises(RefusedError) as raised:
        fetch(server.url("/feed.xml"), settings=settings)
    assert str(raised.value) == (
        "refused: redirect to 'file:///etc/passwd': "
        "file URLs are not collected (only http and https)"
    )


# -- the address guard ------------------------------------------------------------------------


def test_loopback_is_refused_unless_allowed(server: HTTPTestServer) -> None:
    server.add("/feed.xml", body=RSS)
    with pytest.raises(RefusedError) as raised:
        fetch(server.url("/feed.xml"), settings=CollectorSettings())
    assert str(raised.value) == (
        "refused: 127.0.0.1 is a loopback address (allow it with collector.allowed_networks)"
    )
    assert server.requests == []


def test_host_names_are_checked_after_resolution() -> None:
    with pytest.raises(RefusedError) as raised:
        fetch("http://localhost:9/feed", settings=CollectorSettings())
    message = str(raised.value)
    assert message.startswith("refused: localhost resolves to ")
    assert "a loopback address" in message


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",
        "http://2130706433:9/",  # 127.0.0.1 as one decimal number
        "http://0.0.0.0:9/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        "http://[fd00::1]/",
    ],
)
def test_internal_addresses_in_any_spelling_are_refused(url: str) -> None:
    with pytest.raises(RefusedError):
        fetch(url, settings=CollectorSettings())


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("240.0.0.1", "a private address"),  # reserved; ipaddress files it as private
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fd12:3456::1", "a private address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "a private address"),
        ("2002:7f00:1::", "a loopback address"),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a00:1", "a private address"),  # NAT64 wrapping 10.0.0.1
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_classification(address: str, reason: str | None) -> None:
    assert AddressGuard().refusal(ipaddress.ip_address(address)) == reason


def test_allowed_networks_cover_mapped_addresses() -> None:
    guard = AddressGuard.from_settings(CollectorSettings(allowed_networks=["10.0.0.0/8"]))
    assert guard.refusal(ipaddress.ip_address("10.1.2.3")) is None
    assert guard.refusal(ipaddress.ip_address("::ffff:10.1.2.3")) is None
    assert guard.refusal(ipaddress.ip_address("192.168.0.1")) == "a private address"


class _FakeDNS:
    """Stands in for a DNS server (none can run here): answers each lookup of one
    name with the next address in a list, like a rebinding attacker's server."""

    def __init__(self, name: str, answers: list[str]) -> None:
        self.name = name
        self.answers = answers
        self.lookups = 0
        self._real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != self.name:
            return self._real(host, port, *args, **kwargs)
        answer = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]


def test_connection_goes_to_the_checked_address(
    server: HTTPTestServer, settings: CollectorSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    dns = _FakeDNS("feeds.test", ["127.0.0.1"])
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    server.add("/feed.xml", body=RSS)

    result = fetch(f"http://feeds.test:{server.port}/feed.xml", settings=settings)

    assert result.body == RSS
    assert server.requests[0].headers["host"] == f"feeds.test:{server.port}"


def test_dns_rebinding_between_check_and_connect_is_refused(
    server: HTTPTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # First answer public (passes the check), then loopback (what would be connected to).
    dns = _FakeDNS("rebind.test", ["93.184.216.34", "127.0.0.1"])
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    server.add("/feed.xml", body=RSS)

    with pytest.raises(RefusedError) as raised:
        fetch(f"http://rebind.test:{server.port}/feed.xml", settings=CollectorSettings())

    assert "rebind.test resolves to 127.0.0.1, a loopback address" in str(raised.value)
    assert server.requests == []


def _no_resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"{host!r} was handed to the resolver")


@pytest.mark.parametrize(
    ("host", "address"),
    [("127.0.0.1", "127.0.0.1"), ("[::1]", "::1"), ("::ffff:127.0.0.2", "::ffff:127.0.0.2")],
)
def test_an_ip_literal_is_never_handed_to_the_resolver(
    host: str, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With no time left, as when a loaded machine has eaten a fetch's budget: a resolver
    # thread would not even be scheduled in time, which failed a fetch of 127.0.0.1
    # with "timed out after 0 s (resolving 127.0.0.1)". A literal needs no lookup.
    monkeypatch.setattr(socket, "getaddrinfo", _no_resolver)
    guard = AddressGuard.from_settings(
        CollectorSettings(allowed_networks=["127.0.0.0/8", "::1/128"])
    )
    assert guard.check_host(host, 80, timeout=0.0) == [ipaddress.ip_address(address)]
    with pytest.raises(RefusedError, match=r"refused: 10\.0\.0\.1 is a private address"):
        guard.check_host("10.0.0.1", 80, timeout=0.0)  # and is still checked


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(20.0, "20"), (300.0, "300"), (1.5, "1.5"), (0.5, "0.5"), (0.04, "0.04"), (0.0012, "0.0012")],
)
def test_a_time_out_message_shows_its_real_duration(seconds: float, shown: str) -> None:
    error = FetchTimeoutError(seconds, "resolving example.org")
    assert str(error) == f"unreachable: timed out after {shown} s (resolving example.org)"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/feed.xml", "refused: ftp URLs are not collected (only http and https)"),
        ("file:///etc/passwd", "refused: file URLs are not collected (only http and https)"),
        ("javascript:alert(1)", "refused: javascript URLs are not collected"),
        ("//example.com/feed", "refused: (none) URLs are not collected"),
        ("http:///feed", "refused: the URL has no host"),
    ],
)
def test_non_http_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(RefusedError) as raised:
        fetch(url, settings=CollectorSettings())
    assert str(raised.value).startswith(message)


# -- unreachable ------------------------------------------------------------------------------


def test_unresolvable_host_is_unreachable() -> None:
    with pytest.raises(UnreachableError) as raised:
        fetch("http://example.invalid/feed.xml", settings=CollectorSettings())
    assert str(raised.value) == "unreachable: cannot resolve host example.invalid"


def test_closed_port_is_unreachable(settings: CollectorSettings) -> None:
    with refusing_port() as port, pytest.raises(UnreachableError) as raised:
        fetch(f"http://127.0.0.1:{port}/feed.xml", settings=settings)
    assert str(raised.value) == "unreachable: cannot connect to 127.0.0.1 (Connection refused)"


def test_slow_server_times_out_as_unreachable(server: HTTPTestServer) -> None:
    settings = CollectorSettings(allowed_networks=["127.0.0.0/8"], timeout_seconds=0.5)
    server.add("/slow", body=RSS, delay=60)  # cut short when the server stops

    started = time.monotonic()
    with pytest.raises(UnreachableError) as raised:
        fetch(server.url("/slow"), settings=settings)

    assert str(raised.value) == "unreachable: timed out after 0.5 s"
    # Long before the answer: the deadline ended it (room for a loaded machine).
    assert time.monotonic() - started < 10


def test_time_out_covers_the_whole_body(server: HTTPTestServer) -> None:
    # Each chunk arrives well within the time-out; the body as a whole does not.
    settings = CollectorSettings(allowed_networks=["127.0.0.0/8"], timeout_seconds=0.6)
    server.add("/drip", body=lambda: (b"<!-- -->" for _ in range(600)), chunk_delay=0.1)

    started = time.monotonic()
    with pytest.raises(UnreachableError) as raised:
        fetch(server.url("/drip"), settings=settings)

    assert str(raised.value).startswith("unreachable: timed out after 0.6 s")
    # The body would take 60 s: the deadline ended it (room for a loaded machine).
    assert time.monotonic() - started < 10


# -- size limits ------------------------------------------------------------------------------


def test_declared_length_over_the_limit_is_refused_up_front(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    server.add("/huge", body=fifty_megabytes, content_length=50 * MB)

    with pytest.raises(TooLargeError) as raised:
        fetch(server.url("/huge"), settings=settings)

    assert str(raised.value) == "too large: the feed exceeds 10.0 MB"
    (exchange,) = server.wait_for("/huge")
    assert exchange.client_disconnected and not exchange.completed
    assert exchange.bytes_sent < 10 * MB


def test_streamed_body_over_the_limit_is_cut_without_reading_it_all(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    # Chunked: no length to check up front, so the stream itself must be cut.
    server.add("/huge", body=fifty_megabytes)

    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError) as raised:
            fetch(server.url("/huge"), settings=settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert str(raised.value) == "too large: the feed exceeds 10.0 MB"
    assert peak < 30 * MB  # the 10 MB allowed, plus buffers; never the 50 MB
    (exchange,) = server.wait_for("/huge")
    assert exchange.client_disconnected and not exchange.completed
    assert exchange.bytes_sent < 25 * MB


def test_errors_are_fetch_errors() -> None:
    for error_type in (UnreachableError, RefusedError, TooLargeError, HTTPStatusError):
        assert issubclass(error_type, FetchError)
