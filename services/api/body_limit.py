"""Refuses request bodies over 1 MiB with a 413, before reading more of them.

Neither uvicorn nor Starlette caps a body: a route reads it whole into memory, then
validates it, so anyone (sign-in is public) could make the server hold gigabytes. The
largest body a route takes (a brand with its context terms, a bulk triage) is a few
kilobytes; 1 MiB leaves room without leaving the door open.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.problems import problem_response

MAX_BODY_BYTES = 1024 * 1024


class BodyLimit:
    """ASGI middleware: a declared or received body over `max_bytes` gets a 413 problem."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
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

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

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
