"""``GET /system/df`` and ``berth system df``: two images from a local registry sharing
their base layer; LayersSize measured on the snapshots, Size/SharedSize per image, the
table as the docker CLI prints it from berthd's answer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from berth.testing.berthd import Berthd
from berth.testing.registry import REGISTRY, Registry, push_test_image

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(REGISTRY is None, reason="docker-registry is not installed"),
]


def berth(d: Berthd, *args: str) -> str:
    p = subprocess.run(
        [sys.executable, "-m", "berth.cli.main", *args],
        env=os.environ | d.env(), capture_output=True, text=True, timeout=60, check=True,
    )
    return p.stdout


def du(path: str) -> int:
    """Allocated bytes of ``path`` and everything under it, each inode once."""
    seen: set[tuple[int, int]] = set()
    total = os.lstat(path).st_blocks * 512
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def test_system_df(daemon: Berthd, registry: Registry, tmp_path) -> None:
    empty = json.loads(daemon.request("GET", "/system/df")[2])
    assert empty == {"LayersSize": 0, "Images": [], "Containers": [], "Volumes": [], "BuildCache": [], "BuilderSize": 0}

    base = {"etc/base": b"b" * 100_000}
    a, b = f"{registry.host}/t/a:1", f"{registry.host}/t/b:1"
    push_test_image(a, str(tmp_path / "a"), layers=[base, {"a": b"a" * 5000}])
    push_test_image(b, str(tmp_path / "b"), layers=[base, {"b": b"b" * 7000}])
    berth(daemon, "pull", "-q", a)
    berth(daemon, "pull", "-q", b)

    status, headers, body = daemon.request("GET", "/v1.41/system/df")
    assert status == 200 and headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    snaps = os.path.join(daemon.root, "snapshots")
    assert doc["LayersSize"] == sum(du(os.path.join(snaps, n, "fs")) for n in os.listdir(snaps) if n.isdigit())
    listed = {i["RepoTags"][0]: i for i in json.loads(daemon.request("GET", "/images/json")[2])}
    # Sizes are what the layers take on disk, the measure LayersSize sums: the shared base
    # layer is the snapshot holding etc/base, counted once.
    base_dirs = [n for n in os.listdir(snaps) if n.isdigit() and os.path.exists(os.path.join(snaps, n, "fs", "etc", "base"))]
    assert len(base_dirs) == 1
    base_size = du(os.path.join(snaps, base_dirs[0], "fs"))
    sizes = []
    for name in (a, b):
        img = next(i for i in doc["Images"] if i["RepoTags"] == [name])
        assert img["Size"] == listed[name]["Size"]
        assert img["SharedSize"] == base_size
        assert img["Containers"] == 0
        sizes.append(img["Size"])
    assert doc["LayersSize"] == sum(sizes) - base_size
    assert [i["RepoTags"] for i in doc["Images"]]  # newest first, as dockerd

    out = berth(daemon, "system", "df")
    lines = out.splitlines()
    assert lines[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert lines[0].startswith("TYPE            TOTAL     ACTIVE    SIZE")
    assert lines[1].split()[:3] == ["Images", "2", "0"]
    assert lines[1].endswith("(100%)")
    assert lines[2].split() == ["Containers", "0", "0", "0B", "0B"]
    assert lines[3].split() == ["Local", "Volumes", "0", "0", "0B", "0B"]
    assert lines[4].split() == ["Build", "Cache", "0", "0", "0B", "0B"]
    docker = shutil.which("docker")
    if docker is not None:
        env = os.environ | {"DOCKER_HOST": daemon.host, "DOCKER_CONFIG": str(tmp_path / "dockercfg")}
        p = subprocess.run([docker, "system", "df"], env=env, capture_output=True, text=True, timeout=60, check=True)
        assert p.stdout == out
