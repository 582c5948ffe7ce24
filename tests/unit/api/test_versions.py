"""Version prefixes and the rules of README §1.4, through the server."""

from __future__ import annotations

import pytest

from berth.api.request import Request
from berth.api.response import Reply, json_response
from berth.api.router import Router
from berth.api.server import split_version
from berth.api.wire import API_VERSION, MIN_API_VERSION, compare_versions, version_less

from .helpers import exchange, headers_of, serve


def make_router() -> Router:
    r = Router()

    async def whoami(req: Request) -> Reply:
        return json_response({"version": req.api_version, "path": req.path})

    r.add("GET", "/whoami", whoami)
    return r


@pytest.fixture(scope="module")
def sock() -> str:
    with serve(make_router()) as path:
        yield path  # type: ignore[misc]


def get(sock: str, target: str) -> tuple[int, dict[str, str], bytes]:
    out = exchange(sock, f"GET {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n".encode())
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), headers_of(head), body


def test_advertised_versions() -> None:
    assert API_VERSION == "1.41"
    assert MIN_API_VERSION == "1.24"


@pytest.mark.parametrize(
    ("a", "b", "want"),
    [("1.41", "1.41", 0), ("1.9", "1.24", -1), ("1.50", "1.41", 1), ("1", "1.0", 0), ("1.x", "1.0", 0), ("2.0", "1.99", 1)],
)
def test_compare_versions(a: str, b: str, want: int) -> None:
    assert compare_versions(a, b) == want
    assert version_less(a, b) == (want < 0)


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("/v1.41/info", ("1.41", "/info")),
        ("/v1.12/_ping", ("1.12", "/_ping")),
        ("/v1/info", ("1", "/info")),
        ("/info", (None, "/info")),
        ("/v1.41", (None, "/v1.41")),
        ("/vx/info", (None, "/vx/info")),
        ("/volumes", (None, "/volumes")),
        ("/v/info", (None, "/v/info")),
    ],
)
def test_split_version(path: str, want: tuple[str | None, str]) -> None:
    assert split_version(path) == want


def test_unversioned_is_the_current_version(sock: str) -> None:
    status, _, body = get(sock, "/whoami")
    assert status == 200 and body == b'{"version":"1.41","path":"/whoami"}\n'


def test_versioned_path_is_stripped(sock: str) -> None:
    status, _, body = get(sock, "/v1.30/whoami")
    assert status == 200 and body == b'{"version":"1.30","path":"/whoami"}\n'


def test_too_new_is_400_json(sock: str) -> None:
    status, h, body = get(sock, "/v1.99/whoami")
    assert status == 400
    assert h["Content-Type"] == "application/json"
    assert body == b'{"message":"client version 1.99 is too new. Maximum supported API version is 1.41"}\n'


def test_too_old_is_400_text(sock: str) -> None:
    status, h, body = get(sock, "/v1.11/whoami")
    assert status == 400
    assert h["Content-Type"] == "text/plain; charset=utf-8"
    assert body == (
        b"client version 1.11 is too old. Minimum supported API version is 1.24, "
        b"please upgrade your client to a newer version\n"
    )


def test_minimum_and_maximum_are_served(sock: str) -> None:
    assert get(sock, "/v1.24/whoami")[0] == 200
    assert get(sock, "/v1.41/whoami")[0] == 200
    assert get(sock, "/v1.23/whoami")[0] == 400


def test_unknown_route_is_404_whatever_the_version(sock: str) -> None:
    for target in ("/nope", "/v1.41/nope", "/v1.99/nope"):
        status, h, body = get(sock, target)
        assert status == 404
        assert h["Content-Type"] == "application/json"
        assert body == b'{"message":"page not found"}\n'
        assert h["Api-Version"] == "1.41"
