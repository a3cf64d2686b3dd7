"""A hostile HTTP server on 127.0.0.1 for tests: it drips its answer one byte at a time.

`tests/httpserver.py` speaks well-formed HTTP with whole writes; this one is raw
sockets, so it can do what `http.server` cannot: send the status line and then the
headers a byte every `interval` seconds, never finishing (the "slowloris" answer
that once held a fetch with a 20 s time-out for over 300 s), or drip the body.

    with DripServer(part="headers", interval=0.05) as server:
        fetch(server.url("/feed.xml"), settings=...)   # must give up at its deadline

Every connection gets the same treatment; `connections` counts them. Leaving the
`with` block stops the dripping threads at once.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Literal

Part = Literal["headers", "body"]


class DripServer:
    """Answers every request by dripping its headers (or body) forever."""

    def __init__(self, *, part: Part = "headers", interval: float = 0.05) -> None:
        self.part = part
        self.interval = interval
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The ephemeral port the server listens on."""
        return int(self._listener.getsockname()[1])

    def url(self, path: str = "/") -> str:
        """An absolute URL on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> DripServer:
        thread = threading.Thread(target=self._accept, name="drip-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stops accepting and dripping; joins every thread."""
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._drip, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(1.0)
            try:
                conn.recv(65536)  # the request; its content does not matter
                if self.part == "headers":
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    prefix = b"X-Padding: "
                else:
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                        b"Connection: close\r\n\r\n"  # no length: the body ends at close
                    )
                    prefix = b"<rss>"
                conn.sendall(prefix)
                while not self._stop.wait(self.interval):
                    conn.sendall(b"a")
            except OSError:
                return  # the client gave up: what the tests want
