from __future__ import annotations

import pytest

from berth.api.request import Request, parse_bool
from berth.errdefs import InvalidArgument


class NoBody:
    async def read(self, n: int = 65536) -> bytes:
        return b""

    async def read_all(self, limit: int) -> bytes:
        return b""


def req(target: str) -> Request:
    return Request("GET", target, {}, NoBody())


@pytest.mark.parametrize("value", ["", "0", "no", "false", "none", "False", "NONE", " 0 ", "No"])
def test_false_values(value: str) -> None:
    assert parse_bool(value) is False


@pytest.mark.parametrize("value", ["1", "True", "true", "yes", "y", "2", "on", "anything"])
def test_true_values(value: str) -> None:
    assert parse_bool(value) is True


def test_docker_py_booleans() -> None:
    r = req("/containers/x?v=True&link=False&force=False")
    assert r.q_bool("v") is True
    assert r.q_bool("link") is False
    assert r.q_bool("force") is False
    assert r.q_bool("absent") is False
    assert r.q_bool("absent", default=True) is True
    assert r.q_bool("v", default=False) is True


def test_query_values_are_decoded() -> None:
    r = req("/images/create?fromImage=docker.io%2Flibrary%2Fbusybox&tag=1&label=a+b&label=c")
    assert r.q("fromImage") == "docker.io/library/busybox"
    assert r.query["label"] == ["a b", "c"]
    assert r.q("missing", "d") == "d"
    assert r.q_has("tag") and not r.q_has("missing")


def test_path_is_percent_decoded_but_query_kept_apart() -> None:
    r = req("/containers/a%20b/json?x=%2F")
    assert r.path == "/containers/a b/json"
    assert r.raw_query == "x=%2F"


def test_ints() -> None:
    r = req("/x?t=10&bad=x&empty=")
    assert r.q_int("t") == 10
    assert r.q_int("empty", 3) == 3
    assert r.q_int("missing", 7) == 7
    with pytest.raises(InvalidArgument, match="bad"):
        r.q_int("bad")


def test_filters_from_the_query() -> None:
    r = req('/containers/json?filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D')
    assert r.filters() == {"label": ["a=b"]}


def test_headers_are_case_insensitive_and_upgrade_is_detected() -> None:
    r = Request("POST", "/x", {"connection": "Upgrade", "upgrade": "tcp"}, NoBody())
    assert r.header("Connection") == "Upgrade"
    assert r.wants_upgrade
    r = Request("POST", "/x", {"connection": "keep-alive, Upgrade", "upgrade": "TCP"}, NoBody())
    assert r.wants_upgrade
    r = Request("POST", "/x", {}, NoBody())
    assert not r.wants_upgrade
