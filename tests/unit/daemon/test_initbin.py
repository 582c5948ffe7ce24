"""Finding the --init binary (tini-static) at daemon start."""

from __future__ import annotations

import os

import pytest

from berth.daemon import initbin


def _exe(path: str) -> str:
    with open(path, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(path, 0o755)
    return path


def test_configured_path_is_used_when_executable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    init = _exe(str(tmp_path / "my-init"))
    assert initbin.find_init(init) == init
    assert initbin.find_init(str(tmp_path / "missing")) == ""


def test_static_tini_is_preferred_on_path(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _exe(str(tmp_path / "docker-init"))
    static = _exe(str(tmp_path / "tini-static"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert initbin.find_init() == os.path.realpath(static)


def test_nothing_found_is_empty(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(initbin, "CANDIDATES", ("berth-no-such-init",))
    assert initbin.find_init() == ""
