"""The disk filling during a pull: a clean error naming the cause, nothing partial kept,
the store and the daemon intact (berthd's --root on a small tmpfs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from berth.testing.berthd import Berthd
from berth.testing.registry import REGISTRY, Registry, push_test_image

pytestmark = [pytest.mark.root, pytest.mark.skipif(REGISTRY is None, reason="docker-registry is not installed")]


@pytest.fixture
def small_daemon() -> Iterator[Berthd]:
    d = Berthd("pull-disk-full")
    os.makedirs(d.root)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0711", "berth-test-full", d.root], check=True)
    try:
        d.launch()
        yield d
    finally:
        d.stop()
        subprocess.run(["umount", "-l", d.root], check=False)
        d.cleanup()


def berth(d: Berthd, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "berth.cli.main", *args],
        env=os.environ | d.env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_pull_onto_a_full_disk_fails_cleanly(small_daemon: Berthd, registry: Registry, tmp_path) -> None:
    small = f"{registry.host}/full/small:1"
    big = f"{registry.host}/full/big:1"
    push_test_image(small, str(tmp_path / "s"), layers=[{"etc/small": b"s" * 1000}])
    push_test_image(big, str(tmp_path / "b"), layers=[{"blob": os.urandom(6 << 20)}])
    assert berth(small_daemon, "pull", "-q", small).returncode == 0
    p = berth(small_daemon, "pull", big)
    assert p.returncode != 0
    assert "no space left on device" in (p.stdout + p.stderr).lower(), p
    # Nothing partial: no ingest left, no half-extracted snapshot, no name for the big image.
    ingest = os.path.join(small_daemon.root, "content", "ingest")
    assert not os.path.isdir(ingest) or os.listdir(ingest) == []
    listed = json.loads(small_daemon.request("GET", "/images/json")[2])
    assert [i["RepoTags"] for i in listed] == [[small]]
    # The daemon and the store still work: the small image is inspectable and removable.
    assert berth(small_daemon, "image", "inspect", small).returncode == 0
    assert berth(small_daemon, "rmi", small).returncode == 0
    assert json.loads(small_daemon.request("GET", "/images/json")[2]) == []
