"""Fixtures the integration tests share: a local registry and a berthd of the test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from berth.testing.berthd import Berthd
from berth.testing.registry import Registry, registry_process


@pytest.fixture
def registry(tmp_path) -> Iterator[Registry]:  # type: ignore[no-untyped-def]
    """Debian's docker-registry on 127.0.0.1, plain HTTP, storage under tmp_path."""
    with registry_process(str(tmp_path / "registry")) as reg:
        yield reg


@pytest.fixture
def daemon(request: pytest.FixtureRequest) -> Iterator[Berthd]:
    """A berthd with its own root, exec root and socket, named after the test."""
    d = Berthd.start(request.node.name)
    try:
        yield d
    finally:
        d.stop()
        d.cleanup()
