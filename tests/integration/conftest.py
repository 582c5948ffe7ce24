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


@pytest.fixture(scope="session")
def busybox_archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A one-layer OCI image archive of the busybox rootfs, named busybox:latest."""
    from berth.testing import busybox
    from berth.testing.images import layer_tar, oci_archive

    tpl = busybox.template(str(tmp_path_factory.mktemp("busybox-template")))
    return oci_archive(layer_tar(tpl), "docker.io/library/busybox:latest")


@pytest.fixture
def busybox(daemon: Berthd, busybox_archive: bytes) -> str:
    """busybox:latest loaded into the test's berthd; its name."""
    status, _, body = daemon.request(
        "POST", "/images/load?quiet=1", body=busybox_archive, headers={"Content-Type": "application/x-tar"}
    )
    assert status == 200, body
    assert b"errorDetail" not in body, body
    return "busybox:latest"
