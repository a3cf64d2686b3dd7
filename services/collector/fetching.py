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

import ssl
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeGuard

import httpcore
import httpx

from services.core.settings import CollectorSettings
from services.net.guard import AddressGuard as AddressGuard
from services.net.guard import FetchError as FetchError
from services.net.guard import FetchTimeoutError as FetchTimeoutError
from services.net.guard import GuardedTransport as GuardedTransport
from services.net.guard import IPAddress as IPAddress
from services.net.guard import IPNetwork as IPNetwork
from services.net.guard import RefusedError as RefusedError
from services.net.guard import UnreachableError as UnreachableError
from services.net.guard import resolve as resolve

ACCEPT_FEEDS = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, */*;q=0.5"
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


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
    except FetchTimeoutError as error:
        # A resolution waits for what is left of the fetch's deadline; the fetch as a
        # whole timed out after its own budget, which is the figure a user set.
        raise FetchTimeoutError(timeout, error.doing) from None
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
