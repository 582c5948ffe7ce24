"""Fixtures for the cgroups unit tests: fake hosts (see cgroups_fake) and a recorder for
the order of control-file writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cgroups_fake import FakeHost

from berth.cgroups import _files


@pytest.fixture
def fake_v1(tmp_path: Path) -> FakeHost:
    return FakeHost(tmp_path / "cgroup", "v1")


@pytest.fixture
def fake_v2(tmp_path: Path) -> FakeHost:
    return FakeHost(tmp_path / "cgroup", "v2")


@pytest.fixture
def fake_hybrid(tmp_path: Path) -> FakeHost:
    return FakeHost(tmp_path / "cgroup", "hybrid")


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Every control-file write, in order, as (directory, file, value)."""
    import importlib

    log: list[tuple[str, str, str]] = []
    original = _files.write

    def recording(
        directory: str, name: str, value: str, field: str | None = None, missing: str | None = None
    ) -> None:
        log.append((os.path.basename(directory), name, value))
        original(directory, name, value, field, missing)

    for mod in (
        "v1.cpu",
        "v1.cpuset",
        "v1.memory",
        "v1.devices",
        "v1.freezer",
        "v1.blkio",
        "v1.pids",
        "_hugetlb",
        "v1.net_cls",
        "v1.net_prio",
        "v2.cpu",
        "v2.cpuset",
        "v2.memory",
        "v2.io",
        "v2.freezer",
        "v2.unified",
    ):
        monkeypatch.setattr(importlib.import_module(f"berth.cgroups.{mod}"), "write", recording)
    monkeypatch.setattr(_files, "write", recording)
    return log
