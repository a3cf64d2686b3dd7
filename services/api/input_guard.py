"""Checks on every request before any route sees it.

- A body over 1 MiB is a 413, before more of it is read. Neither uvicorn nor Starlette
  caps a body: a route reads it whole into memory, then validates it, so anyone (sign-in
  is public) could make the server hold gigabytes. The largest body a route takes (a
  brand with its context terms, a bulk triage) is a few kilobytes.
- A NUL character (U+0000) in the path, the query string or a JSON body's text is a 422:
  PostgreSQL text cannot hold one, so a name or a lookup carrying it was a 500 there (and
  no name needs one).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.problems import problem_response

MAX_BODY_BYTES = 1024 * 1024


class InputGuard:
    """ASGI middleware: a declared or received body over `max_bytes` gets a 413 problem,
    a NUL character in the path, query string or JSON body a 422."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope["query_string"]):
            await self._refuse_nul(scope, receive, send, "the address")
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        # A body without a length (chunked) is read here, up to the limit, then replayed.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client left: the app sees it as it would have
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if b"\\u0000" in body:  # the JSON escape (a raw NUL byte is no JSON at all)
            where = _nul_field(body)
            if where is not None:
                await self._refuse_nul(scope, receive, send, where)
                return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse_nul(self, scope: Scope, receive: Receive, send: Send, where: str) -> None:
        answer = problem_response(
            Request(scope),
            422,
            "Invalid request",
            f"{where}: a NUL character (U+0000) is not allowed in any text",
            errors=[
                {
                    "field": where,
                    "code": "nul_character",
                    "message": "a NUL character (U+0000) is not allowed",
                }
            ],
        )
        await answer(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = f"{self.max_bytes // 1024} KiB"
        answer = problem_response(
            Request(scope),
            413,
            "Request body too large",
            f"the request body is over {limit}, the most any route of this API takes",
        )
        answer.headers["Connection"] = "close"  # the rest of the body is not read
        await answer(scope, receive, send)


def _nul_field(body: bytes) -> str | None:
    """The field ('name', 'tags[2]') of a JSON body whose text holds a NUL; None when none
    does or the body is no JSON (the route says so itself)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return _find_nul(data, "")


def _find_nul(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return inner
            found = _find_nul(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_nul(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None
