"""Volume routes over a fake backend: dockerd's wire shapes and statuses, the create
body, filters passed through, errors as messages."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence

import pytest

from berth import errdefs
from berth.api import volumes
from berth.api.router import Router
from berth.volumes import Volume

from .helpers import exchange, serve

VOL = Volume(
    name="apivol",
    driver="local",
    mountpoint="/var/lib/berth/volumes/apivol/_data",
    created_at="2026-11-27T20:58:47Z",
    labels={"a": "b"},
    options={},
)


class FakeVolumes:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    async def create(self, name: str = "", driver: str = "local", labels=None, options=None) -> Volume:  # type: ignore[no-untyped-def]
        self.calls.append(("create", name, driver, labels, options))
        if driver != "local":
            raise errdefs.NotFound(f'error looking up volume plugin {driver}: plugin "{driver}" not found')
        return Volume(name or "f" * 64, driver, "/m", "2026-11-27T20:58:47Z", labels or {}, options or {})

    async def get(self, name: str) -> Volume:
        if name != "apivol":
            raise errdefs.NotFound(f"get {name}: no such volume")
        return VOL

    async def list(self, filters: Mapping[str, Sequence[str]] | None = None) -> tuple[list[Volume], list[str]]:
        self.calls.append(("list", filters))
        return ([VOL] if not filters else []), []

    async def remove(self, name: str, force: bool = False) -> None:
        self.calls.append(("remove", name, force))
        if name == "busy":
            raise errdefs.Conflict("remove busy: volume is in use - [abc]")

    async def prune(self, filters: Mapping[str, Sequence[str]] | None = None) -> tuple[list[str], int]:
        self.calls.append(("prune", filters))
        return (["x1", "x2"], 36) if filters else ([], 0)


@pytest.fixture(scope="module")
def backend() -> FakeVolumes:
    return FakeVolumes()


@pytest.fixture(scope="module")
def sock(backend: FakeVolumes) -> Iterator[str]:
    r = Router()
    volumes.register(r, backend)
    with serve(r) as path:
        yield path


def call(sock: str, method: str, target: str, body: bytes = b"") -> tuple[str, bytes]:
    extra = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else ""
    out = exchange(
        sock,
        f"{method} {target} HTTP/1.1\r\nHost: docker\r\n{extra}Connection: close\r\n\r\n".encode() + body,
    )
    head, _, rest = out.partition(b"\r\n\r\n")
    return head.decode(), rest


def test_list_volume_shape_and_null_warnings(sock: str) -> None:
    head, body = call(sock, "GET", "/v1.41/volumes")
    assert head.startswith("HTTP/1.1 200")
    assert body == (
        b'{"Volumes":[{"CreatedAt":"2026-11-27T20:58:47Z","Driver":"local","Labels":{"a":"b"},'
        b'"Mountpoint":"/var/lib/berth/volumes/apivol/_data","Name":"apivol","Options":{},"Scope":"local"}],'
        b'"Warnings":null}\n'
    )


def test_list_passes_filters_and_an_empty_list_is_a_list(sock: str, backend: FakeVolumes) -> None:
    _, body = call(sock, "GET", '/volumes?filters={"dangling":{"true":true}}')
    assert json.loads(body) == {"Volumes": [], "Warnings": None}
    assert backend.calls[-1] == ("list", {"dangling": ["true"]})


def test_create_is_201_with_the_volume(sock: str, backend: FakeVolumes) -> None:
    doc = {"Name": "newvol", "Driver": "local", "DriverOpts": {"type": "tmpfs", "device": "tmpfs"}, "Labels": {"k": "v"}}
    head, body = call(sock, "POST", "/v1.41/volumes/create", json.dumps(doc).encode())
    assert head.startswith("HTTP/1.1 201")
    out = json.loads(body)
    assert list(out) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
    assert out["Name"] == "newvol" and out["Options"] == {"type": "tmpfs", "device": "tmpfs"}
    assert backend.calls[-1] == ("create", "newvol", "local", {"k": "v"}, {"type": "tmpfs", "device": "tmpfs"})


def test_create_with_null_maps_and_no_driver(sock: str, backend: FakeVolumes) -> None:
    head, body = call(sock, "POST", "/volumes/create", b'{"Name":"","Driver":"","DriverOpts":null,"Labels":null}')
    assert head.startswith("HTTP/1.1 201")
    assert json.loads(body)["Labels"] == {} and json.loads(body)["Options"] == {}
    assert backend.calls[-1] == ("create", "", "local", {}, {})


def test_create_refuses_non_string_labels(sock: str) -> None:
    head, body = call(sock, "POST", "/volumes/create", b'{"Name":"x1","Labels":{"a":1}}')
    assert head.startswith("HTTP/1.1 400")
    assert json.loads(body) == {"message": "invalid Labels: expected an object of strings"}


def test_create_unknown_driver_is_404(sock: str) -> None:
    head, body = call(sock, "POST", "/volumes/create", b'{"Name":"x1","Driver":"weird"}')
    assert head.startswith("HTTP/1.1 404")
    assert json.loads(body)["message"] == 'error looking up volume plugin weird: plugin "weird" not found'


def test_inspect_and_unknown(sock: str) -> None:
    head, body = call(sock, "GET", "/v1.41/volumes/apivol")
    assert head.startswith("HTTP/1.1 200") and json.loads(body)["Mountpoint"] == VOL.mountpoint
    head, body = call(sock, "GET", "/v1.41/volumes/nosuch")
    assert head.startswith("HTTP/1.1 404")
    assert json.loads(body) == {"message": "get nosuch: no such volume"}


def test_delete_is_204_force_is_passed_in_use_is_409(sock: str, backend: FakeVolumes) -> None:
    head, body = call(sock, "DELETE", "/v1.41/volumes/apivol?force=1")
    assert head.startswith("HTTP/1.1 204") and body == b""
    assert backend.calls[-1] == ("remove", "apivol", True)
    call(sock, "DELETE", "/v1.41/volumes/apivol")
    assert backend.calls[-1] == ("remove", "apivol", False)
    head, body = call(sock, "DELETE", "/v1.41/volumes/busy")
    assert head.startswith("HTTP/1.1 409")
    assert json.loads(body) == {"message": "remove busy: volume is in use - [abc]"}


def test_prune_report(sock: str, backend: FakeVolumes) -> None:
    _, body = call(sock, "POST", "/v1.41/volumes/prune")
    assert body == b'{"VolumesDeleted":null,"SpaceReclaimed":0}\n'
    _, body = call(sock, "POST", '/v1.41/volumes/prune?filters={"all":["true"]}')
    assert json.loads(body) == {"VolumesDeleted": ["x1", "x2"], "SpaceReclaimed": 36}
    assert backend.calls[-1] == ("prune", {"all": ["true"]})
