"""Ports of 127.0.0.1 for tests, held by this process so no other can take them.

A port picked free and closed again is anyone's until its user binds it: another test's
server may take it meanwhile. Servers in this process listen on sockets they hold
(tests/smtp_server.py, the API fixtures); a port that must refuse connections is held
bound but never listening (`refusing_port`); a child that binds a port itself is given
a free one and started again on another when it finds it taken (tests/e2e/service.py).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port of 127.0.0.1 that refuses connections: bound here but never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])
