"""A real SMTP server (aiosmtpd) on 127.0.0.1, listening on a socket bound before it starts.

Picking a free port (bind to 0, close, start the server on that number) leaves a gap in
which another test's server can take the port; aiosmtpd's `Controller` only takes a port
number, so this one binds the socket itself and hands it to `loop.create_server(sock=...)`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller


class BoundController(Controller):
    """A threaded aiosmtpd server on a port of 127.0.0.1 it holds from construction on."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        super().__init__(handler, hostname="127.0.0.1", port=self._sock.getsockname()[1], **kwargs)

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        # The server listens on, and on stop closes, the socket bound above: one start only.
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


@contextmanager
def smtp_server(handler: Any, **kwargs: Any) -> Iterator[int]:
    """Runs `handler` as an SMTP server (kwargs go to aiosmtpd's SMTP); yields its port."""
    controller = BoundController(handler, **kwargs)
    try:
        controller.start()
    except BaseException:
        controller._sock.close()
        raise
    try:
        yield controller.port
    finally:
        controller.stop()
