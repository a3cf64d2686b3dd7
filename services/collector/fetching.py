"""Safe HTTP fetching for collectors: one GET, bounded in address, time and size.

A source URL is user input, so fetching it must not become a way into the private
network (SSRF): every host is resolved first and refused when any of its addresses is
private, loopback, link-local, multicast, reserved or unspecified, unless it lies in
`collector.allowed_networks`. Redirects are followed by hand so that every hop is
checked again, and the connection itself goes to an address that passed the check
(a second DNS answer cannot swap in another one).

One deadline bounds the whole fetch, every hop included: connecting, the TLS
handshake, the headers and the body (`deadline.DeadlineStream`), so a server that
drips its answer one byte at a time is cut off at `collector.timeout_seconds`.

Errors are `FetchError`s with a short message meant for people and a `kind` meant
for programs ('unreachable', 'timeout', 'refused', ...): the state store keeps the
kind with the run and derives a source's state from it, never from the message.
Anything a hostile server or URL can make the HTTP stack raise becomes one of them.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeGuard

import httpcore
import httpx

from services.collector.deadline import Deadline, DeadlineStream
from services.core.settings import CollectorSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ACCEPT_FEEDS = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, */*;q=0.5"
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
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
        super().__init__(f"timed out after {seconds:g} s" + (f" ({doing})" if doing else ""))


class RefusedError(FetchError):
    """The URL or one of its addresses is not allowed (scheme, private address, an
    invalid URL or redirect target)."""

    kind = "refused"

    def __init__(self, detail: str) -> None:
        super().__init__(f"refused: {detail}")


class TooLargeError(FetchError):
    """The response body exceeds `collector.max_feed_bytes`."""

    kind = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"too large: the feed exceeds {format_size(limit)}")
        self.limit = limit


class HTTPStatusError(FetchError):
    """The server answered with an error status (4xx, 5xx, an unusable 3xx)."""

    kind = "http_status"

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status} {reason}".rstrip())
        self.status = status


class TooManyRedirectsError(FetchError):
    """More redirects than `collector.max_redirects`."""

    kind = "too_many_redirects"


class NetworkError(FetchError):
    """The connection broke or the server spoke broken HTTP or TLS."""

    kind = "network"


@dataclass(frozen=True)
class FetchResult:
    """What one fetch returned; `headers` has lower-case names."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    not_modified: bool = False

    @property
    def etag(self) -> str | None:
        """The validator to send back as If-None-Match, if the server gave one."""
        return self.headers.get("etag") or None

    @property
    def last_modified(self) -> str | None:
        """The validator to send back as If-Modified-Since, if the server gave one."""
        return self.headers.get("last-modified") or None


def format_size(size: int) -> str:
    """Formats a byte count for people: '10.0 MB', '512.0 KB', '900 bytes'."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} bytes"


def fetch(
    url: str,
    *,
    settings: CollectorSettings,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """Fetches a feed URL safely; raises a FetchError subclass on any failure."""
    guard = AddressGuard.from_settings(settings)
    deadline = time.monotonic() + settings.timeout_seconds
    headers = {
        "User-Agent": settings.user_agent,
        "Accept": ACCEPT_FEEDS,
        # Only what _Decoder can decode with a bounded output size.
        "Accept-Encoding": "gzip, deflate",
    }
    if _header_safe(etag):
        headers["If-None-Match"] = etag
    if _header_safe(last_modified):
        headers["If-Modified-Since"] = last_modified

    # The transport, not an httpx.Client: a client parses every Location header into
    # its next request even when it does not follow redirects, and raises whatever
    # httpx or idna raise on a hostile one. Redirects are ours to parse and check.
    with GuardedTransport(guard) as transport:
        transport.deadline.start(settings.timeout_seconds)
        current = parse_url(url)
        for _hop in range(settings.max_redirects + 1):
            host = host_of(current)
            with mapped_errors(settings.timeout_seconds, host):
                guard.check_host(
                    host,
                    current.port or _default_port(current.scheme),
                    timeout=_remaining(deadline, settings.timeout_seconds),
                )
                timeout = httpx.Timeout(_remaining(deadline, settings.timeout_seconds))
                request = httpx.Request("GET", current, headers=headers)
                request.extensions["timeout"] = timeout.as_dict()
                response = transport.handle_request(request)
                response.request = request
                try:
                    location = _redirect_location(response, current)
                    if location is None:
                        return _finish(response, url, current, settings, deadline)
                finally:
                    response.close()
            current = location
        raise TooManyRedirectsError(f"too many redirects (more than {settings.max_redirects})")


def host_of(url: httpx.URL) -> str:
    """The URL's host in ASCII (IDNA); RefusedError when it has no valid one."""
    try:
        return url.raw_host.decode("ascii")
    except UnicodeError:
        raise RefusedError(f"not a valid host name: {url.host[:200]!r}") from None


# -- addresses ------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressGuard:
    """Decides which IP addresses a fetch may connect to."""

    allowed: tuple[IPNetwork, ...] = ()
    hint: str = _ALLOWED_HINT  # how a refused user can allow a network, in their settings

    @classmethod
    def from_settings(cls, settings: CollectorSettings) -> AddressGuard:
        """Builds the guard from `collector.allowed_networks`."""
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in settings.allowed_networks))

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
        raise FetchTimeoutError(round(timeout, 1), f"resolving {name[:100]}")
    if "error" in outcome:
        raise outcome["error"]
    return list(outcome["infos"])


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
        addresses = self._guard.check_host(host, port, timeout=self.deadline.remaining())
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


def parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):  # IDNA errors are ValueErrors too
        raise RefusedError(f"not a valid URL: {url[:200]}") from None
    _check_scheme(parsed)
    host_of(parsed)
    return parsed


def _check_scheme(url: httpx.URL) -> None:
    if url.scheme not in ("http", "https"):
        scheme = url.scheme or "(none)"
        raise RefusedError(f"{scheme} URLs are not collected (only http and https)")
    if not url.host:
        raise RefusedError("the URL has no host")


def _header_safe(value: str | None) -> TypeGuard[str]:
    """A saved validator is sent back only if it is a plain header value."""
    return bool(value) and value is not None and value.isascii() and value.isprintable()


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _remaining(deadline: float, total: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchTimeoutError(total)
    return remaining


def _redirect_location(response: httpx.Response, current: httpx.URL) -> httpx.URL | None:
    """The next URL when the response is a redirect to follow, else None."""
    if response.status_code not in _REDIRECT_STATUSES:
        return None
    location = response.headers.get("location", "").strip()
    if not location:
        raise HTTPStatusError(response.status_code, "redirect without a Location")
    try:
        target = current.join(location)
        _check_scheme(target)
        host_of(target)
    except RefusedError as error:
        raise RefusedError(
            f"redirect to {location[:200]!r}: {error.message.removeprefix('refused: ')}"
        ) from None
    except (httpx.InvalidURL, ValueError):  # IDNA errors (xn--) are ValueErrors too
        raise RefusedError(f"redirect to an invalid URL: {location[:200]!r}") from None
    return target


def _finish(
    response: httpx.Response,
    url: str,
    current: httpx.URL,
    settings: CollectorSettings,
    deadline: float,
) -> FetchResult:
    headers = {name.lower(): value for name, value in response.headers.items()}
    if response.status_code == 304:
        return FetchResult(url, str(current), 304, headers, b"", not_modified=True)
    if not 200 <= response.status_code < 300:
        raise HTTPStatusError(response.status_code, _reason(response))
    body = read_body(response, headers, settings, deadline)
    return FetchResult(url, str(current), response.status_code, headers, body)


def _reason(response: httpx.Response) -> str:
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason_phrase[:100]


def read_body(
    response: httpx.Response,
    headers: Mapping[str, str],
    settings: CollectorSettings,
    deadline: float,
) -> bytes:
    """Reads the body, decoding it, and stops as soon as it passes the size limit."""
    limit = settings.max_feed_bytes
    declared = headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise TooLargeError(limit)
    decoder = _Decoder(headers.get("content-encoding", ""), limit)
    body = bytearray()
    raw_size = 0
    for chunk in response.iter_raw():
        raw_size += len(chunk)
        if raw_size > limit:
            raise TooLargeError(limit)
        for piece in decoder.feed(chunk):
            body += piece
            if len(body) > limit:
                raise TooLargeError(limit)
        _remaining(deadline, settings.timeout_seconds)
    body += decoder.flush()
    if len(body) > limit:
        raise TooLargeError(limit)
    return bytes(body)


class _Decoder:
    """Undoes a Content-Encoding chunk by chunk, never producing more than limit + 1
    bytes per step, so a small gzip bomb cannot blow up memory."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        self._encoding = content_encoding.strip().lower()
        self._limit = limit
        self._inflater: Any = None  # zlib's decompressor type is not public
        self._started = False
        if self._encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._encoding == "deflate":
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS)
        elif self._encoding not in ("", "identity"):
            raise NetworkError(f"unsupported content encoding: {content_encoding[:50]}")

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """Decoded pieces of the next raw chunk."""
        if self._inflater is None:
            if chunk:
                yield chunk
            return
        if self._encoding == "deflate" and not self._started and chunk[:1] != b"\x78":
            # "deflate" often means raw deflate, without the zlib header it should have.
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self._started = self._started or bool(chunk)
        data = chunk
        try:
            while data and not self._inflater.eof:
                piece = self._inflater.decompress(data, self._limit + 1)
                if piece:
                    yield piece
                data = self._inflater.unconsumed_tail
        except zlib.error as error:
            raise NetworkError(f"corrupt {self._encoding} response: {error}") from None

    def flush(self) -> bytes:
        """Whatever the decoder still holds once the body has ended."""
        if self._inflater is None or not self._started or self._inflater.eof:
            return b""
        try:
            return bytes(self._inflater.flush(self._limit + 1))
        except zlib.error as error:
            raise NetworkError(f"corrupt {self._encoding} response: {error}") from None


@contextmanager
def mapped_errors(timeout: float, host: str) -> Iterator[None]:
    """Turns httpx and socket exceptions into FetchErrors with short messages."""
    try:
        yield
    except FetchError:
        raise
    except (httpx.TimeoutException, httpcore.TimeoutException):
        raise FetchTimeoutError(timeout) from None
    except httpx.ConnectError as error:
        tls = _ssl_error(error)
        if tls is not None:
            raise NetworkError(f"TLS error with {host}: {tls}") from None
        reason = _short(error) or "connection failed"
        raise UnreachableError(f"cannot connect to {host} ({reason})") from None
    except (httpx.HTTPError, httpcore.NetworkError, httpcore.ProtocolError, OSError) as error:
        raise NetworkError(f"network error: {_short(error) or type(error).__name__}") from None
    except (httpx.InvalidURL, httpx.StreamError, UnicodeError, ValueError) as error:
        # What a hostile answer can still make the HTTP stack raise (a header it cannot
        # decode, a URL it cannot build): a refusal with a name, never a traceback.
        raise NetworkError(f"unusable answer: {_short(error) or type(error).__name__}") from None


def _ssl_error(error: BaseException) -> str | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return getattr(current, "reason", None) or _short(current)
        current = current.__cause__ or current.__context__
    return None


def _short(error: BaseException) -> str:
    text = str(error).strip()
    # "[Errno 111] Connection refused" -> "Connection refused"
    if text.startswith("[Errno") and "] " in text:
        text = text.split("] ", 1)[1]
    return text[:200]
