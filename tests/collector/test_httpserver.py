"""The shared test HTTP server (tests/httpserver.py) does what its docstring says."""

from __future__ import annotations

import contextlib
import threading
import time

import httpx

from tests.httpserver import HTTPTestServer, RecordedRequest, Response


def test_routes_requests_and_recording(server: HTTPTestServer) -> None:
    server.add("/json", body=b'{"a": 1}', headers={"Content-Type": "application/json"})
    server.add("/echo", method="POST", handler=lambda r: Response(201, body=r.body[::-1]))

    with httpx.Client(trust_env=False) as client:
        got = client.get(server.url("/json?x=1"), headers={"X-Test": "yes"})
        echoed = client.post(server.url("/echo"), content=b"abc")
        missing = client.get(server.url("/nope"))
        head = client.head(server.url("/json"))

    assert got.status_code == 200 and got.json() == {"a": 1}
    assert got.headers["connection"] == "close"
    assert (echoed.status_code, echoed.content) == (201, b"cba")
    assert missing.status_code == 404
    assert head.status_code == 200 and head.headers["content-length"] == "8"
    first = server.requests_for("/json")[0]
    assert (first.method, first.query, first.headers["x-test"]) == ("GET", "x=1", "yes")
    assert server.requests_for("/echo")[0].body == b"abc"
    assert [r.path for r in server.requests] == ["/json", "/echo", "/nope", "/json"]


def test_streamed_bodies_in_every_framing(server: HTTPTestServer) -> None:
    def parts() -> list[bytes]:
        return [b"one ", b"two ", b"three"]

    server.add("/chunked", body=parts)
    server.add("/close", body=parts, framing="close")
    server.add("/length", body=parts, content_length=len(b"one two three"))

    with httpx.Client(trust_env=False) as client:
        for path in ("/chunked", "/close", "/length"):
            assert client.get(server.url(path)).content == b"one two three"

    assert server.wait_for("/chunked")[0].bytes_sent == 13


def test_conditional_requests_get_304(server: HTTPTestServer) -> None:
    server.add("/f", body=b"x", headers={"ETag": '"1"'})
    server.add("/raw", body=b"x", headers={"ETag": '"1"'}, conditional=False)
    with httpx.Client(trust_env=False) as client:
        assert client.get(server.url("/f"), headers={"If-None-Match": '"1"'}).status_code == 304
        assert client.get(server.url("/raw"), headers={"If-None-Match": '"1"'}).status_code == 200


def test_redirects_and_route_replacement(server: HTTPTestServer) -> None:
    server.redirect("/old", "/new", status=301)
    server.add("/new", body=b"v1")
    with httpx.Client(trust_env=False, follow_redirects=True) as client:
        assert client.get(server.url("/old")).content == b"v1"
        server.add("/new", body=b"v2")
        assert client.get(server.url("/new")).content == b"v2"
        server.remove("/new")
        assert client.get(server.url("/new")).status_code == 404


def test_stop_cuts_slow_responses_short() -> None:
    server = HTTPTestServer().start()
    server.add("/slow", body=b"late", delay=30)

    def call() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(server.url("/slow"), timeout=30, trust_env=False)

    client = threading.Thread(target=call)
    client.start()
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    client.join(timeout=5)
    assert time.monotonic() - started < 2 and not client.is_alive()


def test_handlers_see_the_recorded_request(server: HTTPTestServer) -> None:
    seen: list[RecordedRequest] = []

    def handler(request: RecordedRequest) -> Response:
        seen.append(request)
        return Response(body=request.headers.get("user-agent", "").encode())

    server.add("/ua", handler=handler)
    response = httpx.get(server.url("/ua"), headers={"User-Agent": "probe"}, trust_env=False)
    assert response.content == b"probe" and seen[0].path == "/ua"
