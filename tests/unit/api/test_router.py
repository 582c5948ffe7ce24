from __future__ import annotations

import pytest

from berth.api.request import Request
from berth.api.response import Reply, empty
from berth.api.router import Router


async def h(req: Request) -> Reply:
    return empty()


def other() -> object:
    async def g(req: Request) -> Reply:
        return empty()

    return g


def test_parameters_match_one_segment() -> None:
    r = Router()
    r.add("GET", "/containers/{id}/json", h)
    m = r.match("GET", "/containers/abc/json")
    assert m is not None and m.params == {"id": "abc"}
    assert r.match("GET", "/containers/a/b/json") is None
    assert r.match("GET", "/containers//json") is None


def test_greedy_parameter_takes_slashes_and_colons() -> None:
    r = Router()
    r.add("POST", "/images/{name:.*}/push", h)
    m = r.match("POST", "/images/127.0.0.1:5055/apic/pushme/push")
    assert m is not None and m.params == {"name": "127.0.0.1:5055/apic/pushme"}


def test_fixed_path_wins_over_a_pattern() -> None:
    r = Router()
    fixed = other()
    r.add("GET", "/images/{name:.*}/json", h)
    r.add("GET", "/images/json", fixed)  # type: ignore[arg-type]
    m = r.match("GET", "/images/json")
    assert m is not None and m.handler is fixed
    m = r.match("GET", "/images/busybox:latest/json")
    assert m is not None and m.params == {"name": "busybox:latest"}


def test_patterns_are_tried_in_order() -> None:
    r = Router()
    first = other()
    r.add("GET", "/x/{a}", first)  # type: ignore[arg-type]
    r.add("GET", "/x/{b:.*}", h)
    m = r.match("GET", "/x/1")
    assert m is not None and m.handler is first
    m = r.match("GET", "/x/1/2")
    assert m is not None and m.params == {"b": "1/2"}


def test_method_must_match() -> None:
    r = Router()
    r.add("GET", "/info", h)
    assert r.match("POST", "/info") is None
    assert r.match("HEAD", "/info") is None


def test_duplicate_and_bad_patterns_are_refused() -> None:
    r = Router()
    r.add("GET", "/a/{id}", h)
    with pytest.raises(ValueError, match="already registered"):
        r.add("GET", "/a/{id}", h)
    with pytest.raises(ValueError):
        r.add("GET", "a", h)
    with pytest.raises(ValueError):
        r.add("GET", "/b/{id:[0-9]+}", h)


def test_decorator_and_listing() -> None:
    r = Router()

    @r.route("DELETE", "/volumes/{name}")
    async def rm(req: Request) -> Reply:
        return empty()

    r.add("GET", "/volumes", h)
    assert set(r.routes()) == {("DELETE", "/volumes/{name}"), ("GET", "/volumes")}
