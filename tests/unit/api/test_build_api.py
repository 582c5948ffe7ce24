"""``POST /build`` and ``POST /build/prune`` over a fake BuildBackend: the query as a
BuildRequest, the context read as it is uploaded, messages streamed as they are emitted,
errors before output as HTTP errors and after it as the last message, -q, the BuildKit
refusal, the prune report."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

import pytest

from berth import errdefs
from berth.api import build as build_api
from berth.api.router import Router
from berth.client.api import Client
from berth.engine.build_types import BuildRequest

from .helpers import connect, read_head, serve

ID = "sha256:3acf6e7833d102e26fcffc5314064ef3247a7bc32b0ee92aadf09cfc28ae414f"
FAIL = "The command '/bin/sh -c echo failing && exit 3' returned a non-zero code: 3"


class FakeBuilds:
    """Behaviour chosen by ``?dockerfile=``; records requests and contexts."""

    def __init__(self) -> None:
        self.requests: list[BuildRequest] = []
        self.contexts: list[bytes] = []
        self.gate = threading.Event()
        self.pruned: list[tuple[bool, Mapping[str, Sequence[str]], int]] = []
        self.stopped: list[str] = []

    def build(self, context: BinaryIO, req: BuildRequest, emit: Callable[[dict[str, Any]], None]) -> str:
        self.requests.append(req)
        mode = req.dockerfile
        if mode == "early-output":  # output before the context is read: held until it is
            emit({"stream": "early\n"})
        if mode != "ignore-context":
            self.contexts.append(context.read())
        if mode == "missing":
            raise errdefs.InvalidArgument("Cannot locate specified Dockerfile: missing")
        emit({"stream": "Step 1/2 : FROM busybox"})
        emit({"stream": "\n"})
        if mode == "gated":
            assert self.gate.wait(5)
        if mode == "abandoned":
            assert self.gate.wait(5)
            for _ in range(100):  # until the route has seen the client go
                try:
                    emit({"stream": "still here\n"})
                except errdefs.Unavailable as exc:
                    self.stopped.append(exc.message)
                    raise
                time.sleep(0.02)
        if mode == "fail":
            emit({"stream": "failing\n"})
            emit({"errorDetail": {"code": 3, "message": FAIL}, "error": FAIL})
            raise errdefs.BerthError(FAIL)
        if mode == "bug":
            raise RuntimeError("boom")
        emit({"aux": {"ID": ID}})
        emit({"stream": f"Successfully built {ID[7:19]}\n"})
        return ID

    def prune(self, all: bool, filters: Mapping[str, Sequence[str]], keep_storage: int) -> tuple[list[str], int]:
        self.pruned.append((all, filters, keep_storage))
        return ["k1", "k2"], 4096


@pytest.fixture
def backend() -> FakeBuilds:
    return FakeBuilds()


@pytest.fixture
def sock(backend: FakeBuilds) -> Iterator[str]:
    router = Router()
    build_api.register(router, backend)
    with serve(router) as path:
        yield path


def chunked(body: bytes, size: int = 700) -> bytes:
    out = b""
    for i in range(0, len(body), size):
        part = body[i : i + size]
        out += b"%x\r\n%s\r\n" % (len(part), part)
    return out + b"0\r\n\r\n"


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return out


def post_build(path: str, query: str, body: bytes = b"ctx" * 1000, headers: str = "") -> tuple[str, bytes]:
    """(head, decoded body) of one raw request with a chunked context."""
    with connect(path) as s:
        s.sendall(
            f"POST /v1.41/build?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n{headers}\r\n".encode()
            + chunked(body)
        )
        head, rest = read_head(s)
        while data := s.recv(65536):
            rest += data
    text = head.decode()
    return text, dechunk(rest) if "chunked" in text else rest


def messages(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.split(b"\r\n") if line.strip()]


# -- the query -------------------------------------------------------------------------------


def test_query_of_the_docker_20_10_cli_is_parsed(sock: str, backend: FakeBuilds) -> None:
    q = (
        "buildargs=%7B%22GREETING%22%3A%22yo%22%2C%22UNSET%22%3Anull%7D&cachefrom=%5B%22a%3A1%22%5D&cpuquota=5000"
        "&dockerfile=Dockerfile&labels=%7B%22L%22%3A%221%22%7D&memory=1048576&networkmode=host&nocache=1&pull=1"
        "&rm=0&shmsize=65536&t=a%2Fb%3A1&t=c&target=stage&platform=linux%2Famd64"
        "&extrahosts=h1%3A10.0.0.1%2Ch2%3A10.0.0.2&extrahosts=h3%3A10.0.0.3&ulimits=null&version=1&session=xyz"
    )
    head, _ = post_build(sock, q)
    assert head.startswith("HTTP/1.1 200")
    r = backend.requests[0]
    assert r.tags == ["a/b:1", "c"]
    assert r.build_args == {"GREETING": "yo", "UNSET": None}
    assert r.labels == {"L": "1"} and r.cache_from == ["a:1"]
    assert (r.no_cache, r.pull, r.quiet, r.rm, r.force_rm) == (True, True, False, False, False)
    assert (r.target, r.network_mode, r.platform) == ("stage", "host", "linux/amd64")
    assert r.extra_hosts == ["h1:10.0.0.1", "h2:10.0.0.2", "h3:10.0.0.3"]
    assert (r.shm_size, r.memory, r.cpu_quota) == (65536, 1048576, 5000)


def test_defaults_are_dockerds(sock: str, backend: FakeBuilds) -> None:
    post_build(sock, "t=x")
    r = backend.requests[0]
    assert r.dockerfile == "Dockerfile" and r.rm is True and r.force_rm is False
    assert r.build_args == {} and r.labels == {} and r.registry_auth == {}


def test_forcerm_implies_rm(sock: str, backend: FakeBuilds) -> None:
    post_build(sock, "rm=0&forcerm=1")
    assert backend.requests[0].rm is True and backend.requests[0].force_rm is True


def test_registry_config_header_is_decoded(sock: str, backend: FakeBuilds) -> None:
    auth = {"127.0.0.1:5055": {"username": "apic", "password": "secret", "serveraddress": "127.0.0.1:5055"}}
    value = base64.b64encode(json.dumps(auth).encode()).decode()
    post_build(sock, "t=x", headers=f"X-Registry-Config: {value}\r\n")
    assert backend.requests[0].registry_auth == auth


def test_undecodable_registry_config_is_ignored_as_dockerd_does() -> None:
    assert build_api.registry_config("!!not base64") == {}
    assert build_api.registry_config("e30=") == {}


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("buildargs=%7Bnope", "error reading build args"),
        ("labels=%5B1%5D", "error reading labels"),
        ("cachefrom=%7B", "error reading cache-from"),
        ("version=3", 'invalid version "3"'),
        ("shmsize=big", "shmsize"),
    ],
)
def test_bad_parameters_are_400_naming_them(sock: str, backend: FakeBuilds, query: str, needle: str) -> None:
    head, body = post_build(sock, query)
    assert head.startswith("HTTP/1.1 400")
    assert needle in json.loads(body)["message"]
    assert backend.requests == []


def test_buildkit_is_refused_with_a_way_out(sock: str, backend: FakeBuilds) -> None:
    head, body = post_build(sock, "version=2&session=abc")
    assert head.startswith("HTTP/1.1 400")
    message = json.loads(body)["message"]
    assert "classic" in message and "DOCKER_BUILDKIT=0" in message
    assert backend.requests == []


def test_remote_context_is_not_implemented(sock: str) -> None:
    head, body = post_build(sock, "remote=https%3A%2F%2Fexample.com%2Fctx.git")
    assert head.startswith("HTTP/1.1 501")
    assert "uploaded context only" in json.loads(body)["message"]


# -- the stream ------------------------------------------------------------------------------


def test_context_reaches_the_backend_whole_and_messages_stream_in_order(sock: str, backend: FakeBuilds) -> None:
    ctx = bytes(range(256)) * 3000
    head, body = post_build(sock, "t=x", ctx)
    assert "Transfer-Encoding: chunked" in head and "Content-Type: application/json" in head
    assert backend.contexts == [ctx]
    assert messages(body) == [
        {"stream": "Step 1/2 : FROM busybox"},
        {"stream": "\n"},
        {"aux": {"ID": ID}},
        {"stream": f"Successfully built {ID[7:19]}\n"},
    ]


def test_messages_are_sent_as_they_are_emitted(sock: str, backend: FakeBuilds) -> None:
    with connect(sock) as s:
        s.sendall(
            b"POST /v1.41/build?dockerfile=gated HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"tar")
        )
        head, rest = read_head(s)
        assert head.startswith(b"HTTP/1.1 200")
        while b"\\n" not in rest:  # the second message, {"stream":"\n"}, while the build waits
            rest += s.recv(65536)
        assert not backend.gate.is_set()
        backend.gate.set()
        while data := s.recv(65536):
            rest += data
    assert b"Successfully built" in dechunk(rest)


def test_a_client_that_goes_away_stops_the_build_at_its_next_message(sock: str, backend: FakeBuilds) -> None:
    with connect(sock) as s:
        s.sendall(
            b"POST /v1.41/build?dockerfile=abandoned HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"tar")
        )
        read_head(s)
    backend.gate.set()
    for _ in range(200):
        if backend.stopped:
            break
        time.sleep(0.02)
    assert backend.stopped == ["build canceled: the client went away"]


def test_output_waits_until_the_context_is_read(sock: str, backend: FakeBuilds) -> None:
    head, body = post_build(sock, "dockerfile=early-output", b"x" * 300_000)
    assert head.startswith("HTTP/1.1 200")
    assert backend.contexts == [b"x" * 300_000]
    assert messages(body)[0] == {"stream": "early\n"} and messages(body)[-1]["stream"].startswith("Successfully")


def test_output_waits_for_a_slow_upload(sock: str, backend: FakeBuilds) -> None:
    with connect(sock) as s:
        s.sendall(
            b"POST /v1.41/build?dockerfile=early-output HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(5):
            time.sleep(0.05)
            s.sendall(b"4\r\nslow\r\n")
        s.sendall(b"0\r\n\r\n")
        head, rest = read_head(s)
        while data := s.recv(65536):
            rest += data
    assert head.startswith(b"HTTP/1.1 200")
    assert backend.contexts == [b"slow" * 5]
    assert messages(dechunk(rest))[-1]["stream"].startswith("Successfully")


def test_context_left_unread_is_drained_before_the_stream(sock: str, backend: FakeBuilds) -> None:
    head, body = post_build(sock, "dockerfile=ignore-context", b"y" * 400_000)
    assert head.startswith("HTTP/1.1 200") and messages(body)[-1]["stream"].startswith("Successfully")


def test_error_before_output_is_an_http_error(sock: str) -> None:
    head, body = post_build(sock, "dockerfile=missing")
    assert head.startswith("HTTP/1.1 400")
    assert json.loads(body) == {"message": "Cannot locate specified Dockerfile: missing"}


def test_error_after_output_is_the_last_message_and_the_stream_ends_cleanly(sock: str) -> None:
    head, body = post_build(sock, "dockerfile=fail")
    assert head.startswith("HTTP/1.1 200")
    msgs = messages(body)
    assert msgs[-1] == {"errorDetail": {"code": 3, "message": FAIL}, "error": FAIL}
    assert [m for m in msgs if "error" in m] == [msgs[-1]]  # not repeated by the route


def test_unexpected_exception_after_output_is_reported_in_the_stream(sock: str) -> None:
    _, body = post_build(sock, "dockerfile=bug")
    assert messages(body)[-1] == {"errorDetail": {"message": "boom"}, "error": "boom"}


def test_quiet_sends_only_the_image_id(sock: str) -> None:
    _, body = post_build(sock, "q=1&t=x")
    assert messages(body) == [{"stream": ID + "\n"}]


def test_quiet_failure_sends_the_held_output_then_the_error(sock: str) -> None:
    _, body = post_build(sock, "q=1&dockerfile=fail")
    msgs = messages(body)
    assert msgs[0] == {"stream": "Step 1/2 : FROM busybox"}
    assert msgs[-2] == {"stream": "failing\n"} and msgs[-1]["error"] == FAIL


def test_client_streams_the_context_and_yields_messages(sock: str, backend: FakeBuilds) -> None:
    parts = [b"a" * 100_000, b"b" * 5, b"c" * 70_000]
    with Client(f"unix://{sock}") as c:
        got = list(c.build(iter(parts), {"t": ["x:1", "y"], "version": "1"}))
    assert backend.contexts == [b"".join(parts)] and backend.requests[0].tags == ["x:1", "y"]
    assert got[2] == {"aux": {"ID": ID}}


def test_client_reports_buildkit_refusal_as_invalid_argument(sock: str) -> None:
    with Client(f"unix://{sock}") as c, pytest.raises(errdefs.InvalidArgument, match="DOCKER_BUILDKIT=0"):
        list(c.build([b"tar"], {"version": "2"}))


# -- prune -----------------------------------------------------------------------------------


def test_prune_shape_and_parameters(sock: str, backend: FakeBuilds) -> None:
    with Client(f"unix://{sock}") as c:
        report = c.build_prune(all=True, filters='{"until":{"24h":true}}', keep_storage=1000)
    assert report == {"CachesDeleted": ["k1", "k2"], "SpaceReclaimed": 4096}
    assert backend.pruned == [(True, {"until": ["24h"]}, 1000)]


def test_prune_rejects_a_bad_keep_storage_and_unknown_filters(sock: str) -> None:
    with Client(f"unix://{sock}") as c:
        with pytest.raises(errdefs.InvalidArgument, match="keep-storage is in bytes"):
            c.post_json("/build/prune", {"keep-storage": "1GB"})
        with pytest.raises(errdefs.InvalidArgument, match="invalid filter 'color'"):
            c.build_prune(filters='{"color":{"red":true}}')
