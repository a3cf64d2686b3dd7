"""A real HTTP server on 127.0.0.1 for tests: register routes, point clients at it.

It speaks real HTTP over a real socket (threaded `http.server` on an ephemeral port),
so code under test runs its true client stack: DNS-free connects, redirects, time-outs,
streaming, compression, cut connections. Each route answers with a fixed `Response`
or a function of the request; every exchange is recorded (request headers and body,
bytes sent, whether the client hung up), so tests can assert what crossed the wire.

    from tests.httpserver import HTTPTestServer, Response

    with HTTPTestServer() as server:                      # or host="127.0.0.2"
        server.add("/feed.xml", body=rss, headers={"Content-Type": "application/rss+xml",
                                                   "ETag": '"v1"'})
        server.redirect("/old", "/feed.xml", status=301)
        server.add("/slow", body=b"late", delay=5)            # sleep before answering
        server.add("/huge", body=lambda: (b"x" * 65536 for _ in range(800)))  # streamed
        server.add("/api", handler=lambda req: Response(201, body=req.body))  # dynamic
        server.fallback(lambda req: Response(200, body=req.path.encode()))  # any other path
        client.get(server.url("/feed.xml"))
        assert server.requests_for("/feed.xml")[0].headers["user-agent"] == "..."

Behaviour worth knowing:
- Every response carries `Connection: close` (one request per connection), which keeps
  shutdown clean and makes a server-side "client disconnected" observable.
- A route whose headers include ETag / Last-Modified answers 304 to a matching
  If-None-Match / If-Modified-Since (turn off with `conditional=False`).
- Bodies: bytes are sent with a Content-Length; an iterable (or a function returning
  one, called per request) is sent chunked, or close-delimited with `framing="close"`.
  `content_length=N` declares a length regardless of what is actually sent.
- `delay` sleeps before the status line, `chunk_delay` between body chunks; both are
  cut short when the server stops, so a slow route never slows the suite's teardown.
- Unregistered paths answer 404, or what `fallback` says. Routes match the path exactly,
  without the query.
- `stop()` (or leaving the `with` block) closes open connections and joins all threads.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import SHUT_RDWR, socket
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

Body = bytes | Iterable[bytes] | Callable[[], Iterable[bytes]]
Framing = Literal["length", "chunked", "close"]


@dataclass
class Response:
    """What a route answers."""

    status: int = 200
    body: Body = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0
    content_length: int | None = None
    framing: Framing | None = None
    conditional: bool = True


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the server received it; header names are lower-case."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client: tuple[str, int]


@dataclass
class Exchange:
    """One request and what the server did with it."""

    request: RecordedRequest
    status: int | None = None
    bytes_sent: int = 0
    completed: bool = False
    client_disconnected: bool = False
    finished: threading.Event = field(default_factory=threading.Event)


Handler = Callable[[RecordedRequest], Response]


class HTTPTestServer:
    """A threaded HTTP server on a loopback address and an ephemeral port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._routes: dict[tuple[str, str], Handler] = {}
        self._fallback: Handler | None = None
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._in_flight: dict[str, int] = {}
        self._max_in_flight: dict[str, int] = {}
        self._connections: set[socket] = set()
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), _RequestHandler, self)
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> HTTPTestServer:
        """Starts serving in a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving, cuts open connections and joins every thread."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(SHUT_RDWR)
        self._httpd.server_close()  # joins the request threads

    def __enter__(self) -> HTTPTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ----------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """'http://127.0.0.1:PORT'."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """The absolute URL of a path on this server."""
        return urljoin(self.base_url + "/", path)

    # -- routes -------------------------------------------------------------------

    def add(
        self,
        path: str,
        *,
        method: str = "GET",
        handler: Handler | None = None,
        status: int = 200,
        body: Body = b"",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        content_length: int | None = None,
        framing: Framing | None = None,
        conditional: bool = True,
    ) -> None:
        """Registers (or replaces) a route: a fixed response, or `handler(request)`."""
        if handler is None:
            response = Response(
                status=status,
                body=body,
                headers=dict(headers or {}),
                delay=delay,
                chunk_delay=chunk_delay,
                content_length=content_length,
                framing=framing,
                conditional=conditional,
            )

            def fixed(_request: RecordedRequest) -> Response:
                return response

            handler = fixed
        with self._lock:
            self._routes[(method.upper(), path)] = handler

    def fallback(self, handler: Handler) -> None:
        """Answers every request no route matches with `handler(request)` (a relay, say)."""
        with self._lock:
            self._fallback = handler

    def redirect(self, path: str, location: str, *, status: int = 302) -> None:
        """Registers a redirect; `location` may be relative or on another host."""
        self.add(path, status=status, headers={"Location": location})

    def remove(self, path: str, *, method: str = "GET") -> None:
        """Unregisters a route (it answers 404 again)."""
        with self._lock:
            self._routes.pop((method.upper(), path), None)

    # -- what happened ------------------------------------------------------------

    @property
    def exchanges(self) -> list[Exchange]:
        """Every exchange so far, in arrival order."""
        with self._lock:
            return list(self._exchanges)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order."""
        return [exchange.request for exchange in self.exchanges]

    def requests_for(self, path: str) -> list[RecordedRequest]:
        """The requests that asked for `path` (query ignored)."""
        return [r for r in self.requests if r.path == path]

    def max_in_flight(self, path: str) -> int:
        """The most requests for `path` the server was handling at one time."""
        with self._lock:
            return self._max_in_flight.get(path, 0)

    def wait_for(self, path: str, *, count: int = 1, timeout: float = 5.0) -> list[Exchange]:
        """Waits until `count` exchanges for `path` have finished; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            done = [e for e in self.exchanges if e.request.path == path and e.finished.is_set()]
            if len(done) >= count:
                return done
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(done)} of {count} exchanges for {path} finished")
            time.sleep(0.01)

    # -- used by the request handler ------------------------------------------------

    def _route(self, method: str, path: str) -> Handler | None:
        with self._lock:
            handler = self._routes.get((method, path))
            if handler is None and method == "HEAD":
                handler = self._routes.get(("GET", path))
            return handler or self._fallback

    def _begin(self, exchange: Exchange) -> None:
        path = exchange.request.path
        with self._lock:
            self._exchanges.append(exchange)
            self._in_flight[path] = self._in_flight.get(path, 0) + 1
            self._max_in_flight[path] = max(self._max_in_flight.get(path, 0), self._in_flight[path])

    def _end(self, exchange: Exchange) -> None:
        with self._lock:
            self._in_flight[exchange.request.path] -= 1
        exchange.finished.set()

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins them, after stop() cut their sockets
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: Any, owner: HTTPTestServer) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up is expected in tests; exchanges record it


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.owner._lock:
            self.server.owner._connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.server.owner._lock:
            self.server.owner._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _serve(self) -> None:
        self.close_connection = True
        owner = self.server.owner
        parts = urlsplit(self.path)
        length = self.headers.get("Content-Length", "0").strip()
        request_body = self.rfile.read(int(length)) if length.isdigit() else b""
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=request_body,
            client=(str(self.client_address[0]), int(self.client_address[1])),
        )
        exchange = Exchange(request)
        owner._begin(exchange)
        try:
            handler = owner._route(self.command, parts.path)
            response = handler(request) if handler else Response(404, b"not found")
            owner._sleep(response.delay)
            self._respond(request, response, exchange)
            exchange.completed = True
        except OSError:  # the client hung up (or the server is stopping)
            exchange.client_disconnected = True
        finally:
            owner._end(exchange)

    def _respond(self, request: RecordedRequest, response: Response, exchange: Exchange) -> None:
        owner = self.server.owner
        headers = dict(response.headers)
        status = response.status
        if response.conditional and _not_modified(request.headers, headers):
            status = 304
        exchange.status = status
        self.send_response(status, _phrase(status))
        self.send_header("Connection", "close")
        if status == 304 or request.method == "HEAD" or status < 200 or status == 204:
            for name, value in headers.items():
                self.send_header(name, value)
            if request.method == "HEAD" and isinstance(response.body, bytes):
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            return

        body = response.body
        chunks: Iterable[bytes]
        if isinstance(body, bytes):
            chunks = [body]
            framing = response.framing or "length"
        else:
            chunks = body() if callable(body) else body
            framing = response.framing or ("length" if response.content_length else "chunked")
        declared = response.content_length
        if framing == "length" and declared is None and isinstance(body, bytes):
            declared = len(body)
        for name, value in headers.items():
            self.send_header(name, value)
        if declared is not None:
            self.send_header("Content-Length", str(declared))
        if framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

        for index, chunk in enumerate(_chunks(chunks)):
            if index and response.chunk_delay:
                owner._sleep(response.chunk_delay)
            if owner._stopping.is_set():
                raise ConnectionAbortedError("server stopping")
            if framing == "chunked":
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                self.wfile.write(chunk)
            exchange.bytes_sent += len(chunk)
        if framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        if chunk:
            yield chunk


def _not_modified(request: dict[str, str], response: dict[str, str]) -> bool:
    lowered = {name.lower(): value for name, value in response.items()}
    etag = lowered.get("etag")
    if etag and "if-none-match" in request:
        tags = [tag.strip() for tag in request["if-none-match"].split(",")]
        return etag in tags or "*" in tags
    modified = lowered.get("last-modified")
    return bool(modified) and request.get("if-modified-since") == modified


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
