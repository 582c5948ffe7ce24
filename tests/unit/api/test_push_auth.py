"""``POST /images/{name}/push`` and ``POST /auth`` against fake backends: the wire
shapes of traces push.txt and login.txt, and the errors in dockerd's words."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator

import pytest

from berth import errdefs
from berth.api import auth, images
from berth.api.router import Router
from berth.images import PullEvent, PushResult
from berth.oci.digest import Digest
from berth.registry import Credentials

from .helpers import exchange, serve

DIGEST = Digest("sha256:774aa0bba656024ab92a01e01d3f6b67dd70bb2779d561b305103be201c84aec")


class FakeBackend:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    async def push_check(self, name: str) -> None:
        self.calls.append(("check", name))
        if "nosuch" in name:
            raise errdefs.NotFound(f"An image does not exist locally with the tag: {name.rsplit(':', 1)[0]}")

    async def push(self, name: str, credentials: Credentials | None = None) -> AsyncIterator[PullEvent | PushResult]:
        self.calls.append(("push", name, credentials))
        yield PullEvent("The push refers to repository [127.0.0.1:5055/apic/pushme]")
        yield PullEvent("Preparing", "5ab29da39965", None, None)
        yield PullEvent("Pushing", "5ab29da39965", 512, 1024)
        if "broken" in name:
            raise errdefs.Unavailable("connection reset")
        yield PullEvent("Mounted from library/alpine", "5ab29da39965")
        yield PullEvent(f"1: digest: {DIGEST} size: 527")
        yield PushResult("1", DIGEST, 527)

    async def login(self, server: str, username: str, password: str) -> None:
        self.calls.append(("login", server, username, password))
        if password != "secret":
            raise errdefs.Unauthorized(f"login attempt to http://{server}/v2/ failed with status: 401 Unauthorized")


@pytest.fixture(scope="module")
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture(scope="module")
def sock(backend: FakeBackend) -> Iterator[str]:
    r = Router()
    images.register(r, backend)  # type: ignore[arg-type]
    auth.register(r, backend)
    with serve(r) as path:
        yield path


def call(sock: str, method: str, target: str, headers: str = "", body: bytes = b"") -> tuple[str, bytes]:
    extra = f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\n" if body else ""
    out = exchange(
        sock,
        f"{method} {target} HTTP/1.1\r\nHost: docker\r\n{headers}{extra}Connection: close\r\n\r\n".encode() + body,
    )
    head, _, rest = out.partition(b"\r\n\r\n")
    return head.decode(), rest


def dechunk(body: bytes) -> list[dict[str, object]]:
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out += rest[:n]
        body = rest[n + 2 :]
    return [json.loads(line) for line in out.split(b"\r\n") if line.strip()]


def test_push_streams_the_trace_shapes(sock: str, backend: FakeBackend) -> None:
    hdr = base64.urlsafe_b64encode(b'{"username":"u","password":"p"}').decode()
    head, body = call(sock, "POST", "/v1.41/images/127.0.0.1:5055/apic/pushme/push?tag=1", f"X-Registry-Auth: {hdr}\r\n")
    assert head.startswith("HTTP/1.1 200") and "Transfer-Encoding: chunked" in head
    msgs = dechunk(body)
    assert msgs[0] == {"status": "The push refers to repository [127.0.0.1:5055/apic/pushme]"}
    assert msgs[1] == {"status": "Preparing", "progressDetail": {}, "id": "5ab29da39965"}
    assert msgs[2]["progressDetail"] == {"current": 512, "total": 1024} and msgs[2]["status"] == "Pushing"
    assert msgs[3] == {"status": "Mounted from library/alpine", "progressDetail": {}, "id": "5ab29da39965"}
    assert msgs[4] == {"status": f"1: digest: {DIGEST} size: 527"}
    assert msgs[5] == {"progressDetail": {}, "aux": {"Tag": "1", "Digest": str(DIGEST), "Size": 527}}
    assert ("push", "127.0.0.1:5055/apic/pushme:1", Credentials("u", "p")) in backend.calls


def test_push_of_an_unknown_image_is_404_before_streaming(sock: str) -> None:
    head, body = call(sock, "POST", "/v1.41/images/127.0.0.1:5055/apic/nosuch/push?tag=1")
    assert head.startswith("HTTP/1.1 404") and "Content-Type: application/json\r\n" in head + "\r\n"
    assert json.loads(body) == {"message": "An image does not exist locally with the tag: 127.0.0.1:5055/apic/nosuch"}


def test_an_error_during_the_push_is_the_last_message(sock: str) -> None:
    _, body = call(sock, "POST", "/v1.41/images/broken/push?tag=1")
    assert dechunk(body)[-1] == {"errorDetail": {"message": "connection reset"}, "error": "connection reset"}


def test_auth_succeeds_as_the_trace(sock: str, backend: FakeBackend) -> None:
    body = b'{"username":"apic","password":"secret","serveraddress":"127.0.0.1:5055"}'
    head, out = call(sock, "POST", "/v1.41/auth", body=body)
    assert head.startswith("HTTP/1.1 200")
    assert json.loads(out) == {"IdentityToken": "", "Status": "Login Succeeded"}
    assert ("login", "127.0.0.1:5055", "apic", "secret") in backend.calls


def test_auth_with_a_wrong_password_is_401(sock: str) -> None:
    body = b'{"username":"apic","password":"nope","serveraddress":"127.0.0.1:5055"}'
    head, out = call(sock, "POST", "/v1.41/auth", body=body)
    assert head.startswith("HTTP/1.1 401")
    assert json.loads(out)["message"] == "login attempt to http://127.0.0.1:5055/v2/ failed with status: 401 Unauthorized"


def test_auth_without_a_server_means_docker_hub(sock: str, backend: FakeBackend) -> None:
    call(sock, "POST", "/auth", body=b'{"username":"apic","password":"secret"}')
    assert ("login", "https://index.docker.io/v1/", "apic", "secret") in backend.calls
