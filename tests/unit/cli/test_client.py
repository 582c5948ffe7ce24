"""The client against an in-process ApiServer: negotiation, keep-alive, errors, bodies."""

from __future__ import annotations

import os
import tempfile

import pytest

from berth import errdefs
from berth.api import system
from berth.api.request import Request
from berth.api.response import Reply, Response, StreamResponse, StreamWriter, json_response
from berth.api.router import Router
from berth.client.api import CannotConnect, Client, encode_query, socket_path

from ..api.helpers import serve
from ..api.test_system import FakeSystem

SEEN: list[str] = []


def router() -> Router:
    r = Router()
    system.register(r, FakeSystem())

    async def whoami(req: Request) -> Reply:
        SEEN.append(req.target)
        return json_response({"v": req.api_version, "q": req.query, "body": (await req.json())})

    async def text_error(req: Request) -> Reply:
        return Response(500, b"plain failure\n", None, "text/plain")

    async def gone(req: Request) -> Reply:
        raise errdefs.NotFound("No such container: apic-nosuch")

    async def chunks(req: Request) -> Reply:
        async def produce(w: StreamWriter) -> None:
            for i in range(5):
                await w.write(b'{"n":%d}\r\n' % i)

        return StreamResponse(produce)

    r.add("POST", "/whoami", whoami)
    r.add("GET", "/text-error", text_error)
    r.add("GET", "/containers/{id}/json", gone)
    r.add("GET", "/events", chunks)
    return r


@pytest.fixture(scope="module")
def sock() -> str:
    with serve(router()) as path:
        yield path  # type: ignore[misc]


def test_negotiates_with_a_ping_then_reuses_the_connection(sock: str) -> None:
    with Client(f"unix://{sock}") as c:
        assert c.version()["ApiVersion"] == "1.41"
        assert c.api_version == "1.41"
        conn = c._transport._conn  # type: ignore[attr-defined]
        assert conn is not None
        c.info()
        assert c._transport._conn is conn  # type: ignore[attr-defined]


@pytest.mark.parametrize(("advertised", "used"), [("1.50", "1.41"), ("1.30", "1.30"), ("", "1.24")])
def test_uses_the_lower_of_both_versions(advertised: str, used: str) -> None:
    with serve(router(), {"Api-Version": advertised}) as path, Client(f"unix://{path}") as c:
        assert c.api_version == used
        SEEN.clear()
        c.post_json("/whoami")
        assert SEEN == [f"/v{used}/whoami"]


def test_pinned_version_skips_negotiation(sock: str) -> None:
    with Client(f"unix://{sock}", version="1.99") as c:
        with pytest.raises(errdefs.InvalidArgument) as e:
            c.version()
    assert str(e.value) == "client version 1.99 is too new. Maximum supported API version is 1.41"
    assert e.value.from_daemon  # type: ignore[attr-defined]


def test_query_and_json_body(sock: str) -> None:
    with Client(f"unix://{sock}") as c:
        doc = c.post_json("/whoami", {"all": True, "name": "a b/c", "skip": None, "f": ["1", "2"]}, {"Image": "busybox"})
    assert doc["q"] == {"all": ["1"], "name": ["a b/c"], "f": ["1", "2"]}
    assert doc["body"] == {"Image": "busybox"}


def test_errors_map_back_to_categories(sock: str) -> None:
    with Client(f"unix://{sock}") as c:
        with pytest.raises(errdefs.NotFound, match=r"^No such container: apic-nosuch$"):
            c.get_json("/containers/apic-nosuch/json")
        with pytest.raises(errdefs.NotFound, match=r"^page not found$"):
            c.get_json("/nope")
        with pytest.raises(errdefs.Internal, match=r"^plain failure$"):
            c.get_json("/text-error")
        with pytest.raises(errdefs.Unavailable, match="not a swarm manager"):
            c.get_json("/swarm")
        # the connection survives error responses
        assert c.info()["ID"] == "id-1"


def test_chunked_stream_is_read_as_it_comes(sock: str) -> None:
    with Client(f"unix://{sock}") as c:
        resp = c.request("GET", "/events")
        assert b"".join(resp.iter_body()) == b"".join(b'{"n":%d}\r\n' % i for i in range(5))
        assert c.info()["Name"] == "vm"


def test_cannot_connect_message() -> None:
    path = os.path.join(tempfile.gettempdir(), "berth-test-no-such.sock")
    with pytest.raises(CannotConnect) as e:
        Client(f"unix://{path}").version()
    assert str(e.value) == f"Cannot connect to the berth daemon at unix://{path}. Is berthd running?"
    assert not getattr(e.value, "from_daemon", False)


def test_hosts() -> None:
    assert socket_path("unix:///run/berth/berth.sock") == "/run/berth/berth.sock"
    assert socket_path("/x.sock") == "/x.sock"
    with pytest.raises(errdefs.NotImplemented):
        socket_path("tcp://127.0.0.1:2376")
    with pytest.raises(errdefs.InvalidArgument):
        socket_path("unix://relative")


def test_encode_query_like_go() -> None:
    assert encode_query({"fromImage": "docker.io/library/busybox", "tag": "1"}) == "fromImage=docker.io%2Flibrary%2Fbusybox&tag=1"
    assert encode_query({"filters": '{"a":{"b c":true}}'}) == "filters=%7B%22a%22%3A%7B%22b+c%22%3Atrue%7D%7D"
    assert encode_query([("force", True), ("v", False)]) == "force=1&v=0"


def test_a_body_given_as_chunks_is_streamed_chunked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket as _s
    import threading

    from berth.client.transport import UnixTransport

    path = str(tmp_path / "d.sock")
    srv = _s.socket(_s.AF_UNIX, _s.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    got: dict[str, bytes] = {}

    def serve() -> None:
        conn, _ = srv.accept()
        data = b""
        while not data.endswith(b"0\r\n\r\n"):
            data += conn.recv(65536)
        got["raw"] = data
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    tr = UnixTransport(path, timeout=5)
    resp = tr.request("POST", "/images/load", {}, iter([b"abc", b"", b"defgh"]))
    assert resp.status == 200 and resp.read() == b"ok"
    tr.close()
    t.join(5)
    srv.close()
    head, _, body = got["raw"].partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    assert body == b"3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n"
