"""The HTTP/1.1 core through a real unix socket: framing, keep-alive, streams, hijack."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from berth.api.http import encode_chunk, http_date
from berth.api.request import Request
from berth.api.response import (
    Hijack,
    HijackedStream,
    JsonStream,
    Reply,
    Response,
    StreamResponse,
    StreamWriter,
    empty,
    json_response,
    json_stream,
)
from berth.api.router import Router
from berth.errdefs import Conflict

from .helpers import (
    UnixHTTPConnection,
    connect,
    exchange,
    headers_of,
    read_head,
    read_until_close,
    serve,
)

EVENTS: dict[str, asyncio.Event] = {}
CANCELLED: list[str] = []


def make_router() -> Router:
    r = Router()

    async def echo(req: Request) -> Reply:
        body = await req.body.read_all(1 << 20)
        return Response(200, body, {"X-Len": str(len(body))}, "application/octet-stream")

    async def hello(req: Request) -> Reply:
        return json_response({"hello": req.q("name", "world")})

    async def nothing(req: Request) -> Reply:
        return empty(204)

    async def not_modified(req: Request) -> Reply:
        return empty(304)

    async def boom(req: Request) -> Reply:
        raise RuntimeError("secret detail\nTraceback line two")

    async def conflict(req: Request) -> Reply:
        raise Conflict("You cannot remove a running container abc")

    async def ticks(req: Request) -> Reply:
        async def produce(w: StreamWriter) -> None:
            for i in range(3):
                await w.write(f"tick{i}\n".encode())

        return StreamResponse(produce, content_type="text/plain")

    async def forever(req: Request) -> Reply:
        async def produce(w: StreamWriter) -> None:
            await w.write(b"started\n")
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                CANCELLED.append(req.q("tag"))
                raise

        return StreamResponse(produce)

    async def messages(req: Request) -> Reply:
        async def produce(js: JsonStream) -> None:
            await js.send({"status": "Pulling from library/x", "id": "latest"})
            await js.error("manifest unknown")

        return json_stream(produce)

    async def upgrade(req: Request) -> Reply:
        async def pipe(conn: HijackedStream) -> None:
            await conn.write(b"hello ")
            while True:
                data = await conn.read()
                if not data:
                    break
                await conn.write(data.upper())
            await conn.write(b"bye")

        return Hijack(pipe)

    r.add("POST", "/echo", echo)
    r.add("GET", "/hello", hello)
    r.add("POST", "/nothing", nothing)
    r.add("POST", "/same", not_modified)
    r.add("GET", "/boom", boom)
    r.add("DELETE", "/conflict", conflict)
    r.add("GET", "/ticks", ticks)
    r.add("GET", "/forever", forever)
    r.add("POST", "/messages", messages)
    r.add("POST", "/upgrade", upgrade)
    return r


@pytest.fixture(scope="module")
def sock() -> str:
    with serve(make_router()) as path:
        yield path  # type: ignore[misc]


def test_keep_alive_serves_ping_then_the_real_request_on_one_connection(sock: str) -> None:
    with connect(sock) as s:
        s.sendall(b"HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\n\r\n")
        head, rest = read_head(s)
        assert head.startswith(b"HTTP/1.1 404 ")  # no system routes in this router
        n = int(headers_of(head)["Content-Length"])
        assert rest == b""  # HEAD: no body bytes even though Content-Length says n
        assert n > 0
        s.sendall(b"GET /v1.41/hello?name=x HTTP/1.1\r\nHost: docker\r\n\r\n")
        head, rest = read_head(s)
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert rest == b'{"hello":"x"}\n'


def test_every_response_carries_the_engine_headers_and_a_date(sock: str) -> None:
    with connect(sock) as s:
        s.sendall(b"GET /hello HTTP/1.1\r\n\r\n")
        head, _ = read_head(s)
    h = headers_of(head)
    assert h["Api-Version"] == "1.41"
    assert h["Docker-Experimental"] == "false"
    assert h["Ostype"] == "linux"
    assert h["Server"].startswith("berth/") and h["Server"].endswith(" (linux)")
    assert h["Date"].endswith(" GMT")
    lines = head.decode().split("\r\n")[1:]
    names = [ln.split(":")[0] for ln in lines]
    # Go's order: sorted header map, then Date, then Content-Length.
    assert names[-2:] == ["Date", "Content-Length"]
    assert names[:-2] == sorted(names[:-2])


def test_content_length_body_is_read(sock: str) -> None:
    c = UnixHTTPConnection(sock)
    c.request("POST", "/echo", body=b"x" * 100000, headers={"Content-Type": "application/octet-stream"})
    r = c.getresponse()
    assert r.status == 200
    assert r.read() == b"x" * 100000


def test_chunked_request_body_is_decoded(sock: str) -> None:
    body = encode_chunk(b"hello ") + b"5;ext=1\r\nworld\r\n" + encode_chunk(b"")
    req = b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body
    out = exchange(sock, req)
    head, _, payload = out.partition(b"\r\n\r\n")
    assert headers_of(head)["X-Len"] == "11"
    assert payload == b"hello world"


def test_chunked_body_with_trailers(sock: str) -> None:
    body = b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"
    out = exchange(sock, b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body)
    assert out.endswith(b"\r\n\r\nabc")


def test_unread_body_is_drained_so_a_pipelined_request_parses(sock: str) -> None:
    out = exchange(
        sock,
        b"GET /hello HTTP/1.1\r\nContent-Length: 5\r\n\r\nxxxxx"
        b"GET /hello?name=2 HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    assert out.count(b"HTTP/1.1 200 OK") == 2
    assert out.endswith(b'{"hello":"2"}\n')


def test_expect_100_continue(sock: str) -> None:
    with connect(sock) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"abc")
        head, rest = read_head(s)
        assert head.startswith(b"HTTP/1.1 200")
        assert (rest or s.recv(10)) == b"abc"


def test_204_and_304_have_no_body_and_no_length(sock: str) -> None:
    for path, status in ((b"/nothing", b"204 No Content"), (b"/same", b"304 Not Modified")):
        out = exchange(sock, b"POST " + path + b" HTTP/1.1\r\nConnection: close\r\n\r\n")
        head, _, body = out.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 " + status)
        assert b"Content-Length" not in head
        assert body == b""


def test_connection_close_and_http_1_0(sock: str) -> None:
    out = exchange(sock, b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert b"Connection: close" in out
    out = exchange(sock, b"GET /hello HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 OK") and out.endswith(b'{"hello":"world"}\n')


def test_errdefs_category_becomes_status_and_json_message(sock: str) -> None:
    out = exchange(sock, b"DELETE /v1.41/conflict HTTP/1.1\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 409 Conflict")
    assert headers_of(head)["Content-Type"] == "application/json"
    assert body == b'{"message":"You cannot remove a running container abc"}\n'


def test_unexpected_exception_is_500_one_line_and_logged(sock: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="berth.api"):
        out = exchange(sock, b"GET /boom HTTP/1.1\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 Internal Server Error")
    assert body == b'{"message":"internal error: RuntimeError: secret detail"}\n'
    assert b"Traceback" not in out
    assert any("GET /boom" in r.getMessage() and r.exc_info for r in caplog.records)


def test_unknown_route_and_wrong_method_are_page_not_found(sock: str) -> None:
    for req in (b"GET /nope HTTP/1.1\r\n", b"GET /echo HTTP/1.1\r\n"):
        out = exchange(sock, req + b"Connection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 404 Not Found")
        assert out.endswith(b'{"message":"page not found"}\n')


def test_malformed_request_is_400_and_closed(sock: str) -> None:
    out = exchange(sock, b"NONSENSE\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 Bad Request")
    out = exchange(sock, b"GET / HTTP/2.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 505")
    out = exchange(sock, b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert out.startswith(b"HTTP/1.1 400")
    out = exchange(sock, b"POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400")


def test_stream_flushes_headers_then_chunks(sock: str) -> None:
    out = exchange(sock, b"GET /ticks HTTP/1.1\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    h = headers_of(head)
    assert h["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in h
    assert body == b"6\r\ntick0\n\r\n6\r\ntick1\n\r\n6\r\ntick2\n\r\n0\r\n\r\n"


def test_stream_headers_arrive_before_the_producer_finishes(sock: str) -> None:
    with connect(sock, timeout=3) as s:
        s.sendall(b"GET /forever?tag=early HTTP/1.1\r\n\r\n")
        head, rest = read_head(s)  # would time out if headers waited for the body
        assert head.startswith(b"HTTP/1.1 200 OK")
        while b"started" not in rest:
            rest += s.recv(100)


def test_client_disconnect_cancels_the_producer(sock: str) -> None:
    with connect(sock) as s:
        s.sendall(b"GET /forever?tag=gone HTTP/1.1\r\n\r\n")
        _, rest = read_head(s)
        # close only once the producer is parked in its sleep: closing earlier can end
        # it with a ConnectionError on its first write instead of a cancellation
        while b"started" not in rest:
            rest += s.recv(100)
    deadline = time.monotonic() + 5
    while "gone" not in CANCELLED and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "gone" in CANCELLED


def test_json_message_stream_ends_with_an_error_object(sock: str) -> None:
    c = UnixHTTPConnection(sock)
    c.request("POST", "/messages")
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "application/json"
    assert r.read() == (
        b'{"status":"Pulling from library/x","id":"latest"}\r\n'
        b'{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\r\n'
    )


def test_hijack_upgrades_to_a_raw_pipe(sock: str) -> None:
    with connect(sock) as s:
        s.sendall(
            b"POST /v1.41/upgrade HTTP/1.1\r\nContent-Length: 0\r\nConnection: Upgrade\r\n"
            b"Content-Type: text/plain\r\nUpgrade: tcp\r\n\r\n"
        )
        head, rest = read_head(s)
        lines = head.decode().split("\r\n")
        assert lines[:4] == [
            "HTTP/1.1 101 UPGRADED",
            "Content-Type: application/vnd.docker.raw-stream",
            "Connection: Upgrade",
            "Upgrade: tcp",
        ]
        while len(rest) < 6:
            rest += s.recv(100)
        assert rest == b"hello "
        s.sendall(b"abc")
        assert s.recv(100) == b"ABC"
        s.shutdown(socket.SHUT_WR)  # half-close: the server keeps writing
        assert read_until_close(s) == b"bye"


def test_hijack_without_upgrade_headers_answers_200_and_streams(sock: str) -> None:
    with connect(sock) as s:
        s.sendall(b"POST /upgrade HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        out = read_until_close(s)
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert headers_of(head)["Content-Type"] == "application/vnd.docker.raw-stream"
    assert body == b"hello bye"


def test_http_date_is_imf_fixdate() -> None:
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert http_date(1795813579) == "Fri, 27 Nov 2026 21:06:19 GMT"


def test_encode_chunk() -> None:
    assert encode_chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert encode_chunk(b"") == b"0\r\n\r\n"


def test_server_close_ends_open_streams_and_hijacks() -> None:
    import os
    import shutil
    import tempfile

    from berth.api.server import ApiServer

    from .helpers import LoopThread

    d = tempfile.mkdtemp(prefix="berth-api-")
    path = os.path.join(d, "api.sock")
    lt = LoopThread()
    server = ApiServer(make_router())
    try:
        lt.run(server.listen_unix(path))
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        stream = connect(path)
        stream.sendall(b"GET /forever?tag=shutdown HTTP/1.1\r\n\r\n")
        read_head(stream)
        hijack = connect(path)
        hijack.sendall(b"POST /upgrade HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        read_head(hijack)
        idle = connect(path)
        lt.run(server.close())
        for name, s in (("stream", stream), ("hijack", hijack), ("idle", idle)):
            s.settimeout(3)
            try:
                read_until_close(s)  # EOF, not a timeout
            except TimeoutError:
                raise AssertionError(f"{name} connection left open") from None
            s.close()
        assert "shutdown" in CANCELLED
    finally:
        lt.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_protocol_errors_carry_the_engine_headers_too(sock: str) -> None:
    out = exchange(sock, b"GET /hello HTTP/1.1\r\nBad Header Line\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    h = headers_of(head)
    assert head.startswith(b"HTTP/1.1 400 Bad Request")
    assert h["Api-Version"] == "1.41" and h["Connection"] == "close"
    assert body.startswith(b"400 Bad Request: malformed header line")
