"""Image routes over a fake backend: wire shapes as in the traces, suffix routing of
names with slashes and ports, a 404 before a pull streams, errors inside the stream."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping, Sequence

import pytest

from berth import errdefs
from berth.api import images
from berth.api.router import Router
from berth.images import DeleteItem, ImageDetail, ImageSummary, PullEvent
from berth.oci.digest import Digest
from berth.oci.image import History, ImageConfig
from berth.oci.reference import Reference
from berth.registry import Credentials, Resolved

from .helpers import exchange, serve

ID = Digest("sha256:" + "85136dcba8bf9ca4e70b0bf179e5aa4738a7f34e33969a9f4aa39d828404c2fa")
DIFF = Digest("sha256:" + "5ab29da399658f3894f209290c762f87b34cf234acedce1441727d12148591ef")


class FakeImages:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    async def resolve(self, ref: str, credentials: Credentials | None = None) -> tuple[Reference, Resolved]:
        self.calls.append(("resolve", ref, credentials))
        if "nosuch" in ref:
            raise errdefs.NotFound(f"manifest for {ref} not found: manifest unknown: manifest unknown")
        return Reference("docker.io", "library/x", "latest"), None  # type: ignore[return-value]

    async def pull(self, ref: str, credentials=None, resolved=None) -> AsyncIterator[PullEvent]:  # type: ignore[no-untyped-def]
        yield PullEvent("Pulling from library/x", "latest")
        yield PullEvent("Downloading", "b5cca78b22d1", 204, 204)
        if "broken" in ref:
            raise errdefs.Unavailable("connection reset")
        yield PullEvent("Pull complete", "b5cca78b22d1")

    async def list(self, filters: Mapping[str, Sequence[str]] | None = None) -> list[ImageSummary]:
        self.calls.append(("list", filters))
        return [ImageSummary(ID, ("busybox:latest",), (), 1795813127, 1984132, {}, ID)]

    async def inspect(self, name: str) -> ImageDetail:
        if name != "127.0.0.1:5055/a/b:1":
            raise errdefs.NotFound(f"No such image: {name}:latest")
        return ImageDetail(
            id=ID, repo_tags=("busybox:latest",), repo_digests=(), created="2026-11-27T20:58:47.129697221Z",
            size=1984132, architecture="amd64", os="linux", variant="", author="",
            config=ImageConfig(cmd=("/bin/sh",)), diff_ids=(DIFF,), chain_ids=(DIFF,), layer_sizes=(1984132,),
            history=(History(created="2026-11-27T20:58:47Z", comment="Imported from -"),), comment="Imported from -",
        )

    async def tag(self, source: str, repo: str, tag: str) -> str:
        self.calls.append(("tag", source, repo, tag))
        return f"{repo}:{tag}"

    async def remove(self, name: str, force: bool, prune: bool) -> list[DeleteItem]:
        self.calls.append(("remove", name, force, prune))
        return [DeleteItem(untagged="apic/bb:t1"), DeleteItem(deleted=str(ID))]

    async def prune(self, all_images: bool) -> tuple[list[DeleteItem], int]:
        return [], 0


@pytest.fixture(scope="module")
def backend() -> FakeImages:
    return FakeImages()


@pytest.fixture(scope="module")
def sock(backend: FakeImages) -> str:
    r = Router()
    images.register(r, backend)
    with serve(r) as path:
        yield path  # type: ignore[misc]


def call(sock: str, method: str, target: str, headers: str = "") -> tuple[str, bytes]:
    out = exchange(
        sock,
        f"{method} {target} HTTP/1.1\r\nHost: docker\r\n{headers}Connection: close\r\n\r\n".encode(),
    )
    head, _, body = out.partition(b"\r\n\r\n")
    return head.decode(), body


def dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out += rest[:n]
        body = rest[n + 2 :]
    return out


def test_list_shape_matches_the_trace(sock: str) -> None:
    head, body = call(sock, "GET", "/v1.41/images/json?all=1&filters=%7B%22reference%22%3A%7B%22busy%2A%22%3Atrue%7D%7D")
    assert head.startswith("HTTP/1.1 200")
    assert body == (
        b'[{"Containers":-1,"Created":1795813127,"Id":"sha256:85136dcba8bf9ca4e70b0bf179e5aa4738a7f34e33969a9f4aa39d828404c2fa",'
        b'"Labels":null,"ParentId":"","RepoDigests":null,"RepoTags":["busybox:latest"],"SharedSize":-1,'
        b'"Size":1984132,"VirtualSize":1984132}]\n'
    )


def test_list_filters_both_encodings(sock: str, backend: FakeImages) -> None:
    call(sock, "GET", '/images/json?filters={"dangling":["true"]}')
    assert backend.calls[-1] == ("list", {"dangling": ["true"]})


def test_inspect_by_suffix_with_host_port_and_slashes(sock: str) -> None:
    head, body = call(sock, "GET", "/v1.41/images/127.0.0.1:5055/a/b:1/json")
    doc = json.loads(body)
    assert head.startswith("HTTP/1.1 200")
    assert list(doc) == [
        "Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Container", "ContainerConfig",
        "DockerVersion", "Author", "Config", "Architecture", "Os", "Size", "VirtualSize", "GraphDriver",
        "RootFS", "Metadata",
    ]
    assert doc["Created"] == "2026-11-27T20:58:47.129697221Z"
    assert doc["Config"]["Cmd"] == ["/bin/sh"] and doc["Config"]["Env"] is None
    assert doc["RootFS"] == {"Type": "layers", "Layers": [DIFF]}


def test_inspect_unknown_says_it_as_dockerd(sock: str) -> None:
    head, body = call(sock, "GET", "/v1.41/images/apic-nosuch/json")
    assert head.startswith("HTTP/1.1 404")
    assert json.loads(body) == {"message": "no such image: apic-nosuch: No such image: apic-nosuch:latest"}


def test_history_newest_first(sock: str) -> None:
    _, body = call(sock, "GET", "/images/127.0.0.1:5055/a/b:1/history")
    assert json.loads(body) == [
        {"Comment": "Imported from -", "Created": 1795813127, "CreatedBy": "", "Id": str(ID),
         "Size": 1984132, "Tags": ["busybox:latest"]}
    ]


def test_tag_is_201(sock: str, backend: FakeImages) -> None:
    head, body = call(sock, "POST", "/v1.41/images/busybox:latest/tag?repo=docker.io%2Fapic%2Fbb&tag=t1")
    assert head.startswith("HTTP/1.1 201") and body == b""
    assert backend.calls[-1] == ("tag", "busybox:latest", "docker.io/apic/bb", "t1")


def test_delete_records(sock: str, backend: FakeImages) -> None:
    _, body = call(sock, "DELETE", "/v1.41/images/apic/bb:t1?force=1&noprune=1")
    assert json.loads(body) == [{"Untagged": "apic/bb:t1"}, {"Deleted": str(ID)}]
    assert backend.calls[-1] == ("remove", "apic/bb:t1", True, False)


def test_pull_streams_messages_as_the_trace(sock: str, backend: FakeImages) -> None:
    auth = base64.urlsafe_b64encode(b'{"username":"u","password":"p"}').decode()
    head, body = call(sock, "POST", "/v1.41/images/create?fromImage=x&tag=latest", f"X-Registry-Auth: {auth}\r\n")
    assert "Transfer-Encoding: chunked" in head and "Content-Type: application/json" in head
    lines = dechunk(body).split(b"\r\n")
    assert lines[0] == b'{"status":"Pulling from library/x","id":"latest"}'
    assert lines[1] == (
        b'{"status":"Downloading","progressDetail":{"current":204,"total":204},'
        b'"progress":"[==================================================\\u003e]     204B/204B","id":"b5cca78b22d1"}'
    )
    assert lines[2] == b'{"status":"Pull complete","progressDetail":{},"id":"b5cca78b22d1"}'
    assert ("resolve", "docker.io/library/x:latest", Credentials("u", "p")) in backend.calls


def test_pull_of_unknown_manifest_is_404_before_streaming(sock: str) -> None:
    head, body = call(sock, "POST", "/images/create?fromImage=127.0.0.1%3A5055%2Flibrary%2Fnosuch&tag=latest")
    assert head.startswith("HTTP/1.1 404")
    assert json.loads(body)["message"].endswith("not found: manifest unknown: manifest unknown")


def test_an_error_during_the_pull_is_the_last_message(sock: str) -> None:
    _, body = call(sock, "POST", "/images/create?fromImage=broken&tag=1")
    last = dechunk(body).strip().split(b"\r\n")[-1]
    assert json.loads(last) == {"errorDetail": {"message": "connection reset"}, "error": "connection reset"}


def test_progress_bar_like_jsonmessage() -> None:
    assert images.progress_bar(32768, 1068941) == "[=>                                                 ]  32.77kB/1.069MB"
    assert images.credentials_from_header("e30=") is None
