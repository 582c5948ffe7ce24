"""``import``: a rootfs tarball (plain or gzip) into a one-layer image through berthd,
with ``--change`` instructions and a message; by the berth CLI and the docker CLI."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from berth.testing.berthd import Berthd

pytestmark = [pytest.mark.root]


def berth(d: Berthd, *args: str, check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    p = subprocess.run(
        [sys.executable, "-m", "berth.cli.main", *args],
        env=os.environ | d.env(), capture_output=True, timeout=60, input=stdin,
    )
    if check and p.returncode != 0:
        raise AssertionError(f"berth {' '.join(args)}: {p.returncode}\n{p.stdout!r}\n{p.stderr!r}")
    return p


def rootfs() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in (("./etc/hostname", b"imported\n"), ("./bin/tool", b"#!/bin/sh\n")):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o755
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_import_with_changes(daemon: Berthd, tmp_path) -> None:
    src = tmp_path / "rootfs.tar.gz"
    src.write_bytes(gzip.compress(rootfs()))
    changes = [
        'CMD ["sh", "-c", "echo hi"]', "ENV A=1 B=two", "ENV C three", "EXPOSE 80 53/udp",
        "WORKDIR /w", 'LABEL x=y "z=with space"', "USER nobody", "VOLUME /data",
    ]
    args = [a for c in changes for a in ("-c", c)]
    p = berth(daemon, "import", *args, "-m", "my message", str(src), "test/imp:1")
    image_id = p.stdout.decode().strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    doc = json.loads(berth(daemon, "image", "inspect", "test/imp:1").stdout)[0]
    assert doc["Id"] == image_id
    cfg = doc["Config"]
    assert cfg["Cmd"] == ["sh", "-c", "echo hi"]
    assert cfg["Env"] == ["A=1", "B=two", "C=three"]
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert cfg["WorkingDir"] == "/w"
    assert cfg["Labels"] == {"x": "y", "z": "with space"}
    assert cfg["User"] == "nobody"
    assert cfg["Volumes"] == {"/data": {}}
    assert doc["Comment"] == "my message"
    assert len(doc["RootFS"]["Layers"]) == 1
    hist = json.loads(berth(daemon, "history", "--format", "{{json .}}", "test/imp:1").stdout.splitlines()[0])
    assert hist["Comment"] == "my message"

    # from stdin, plain tar, no name: a dangling image; then a bad change and a bad tarball
    p = berth(daemon, "import", "-", stdin=rootfs())
    assert p.stdout.decode().strip().startswith("sha256:")
    assert berth(daemon, "import", "-c", "FROM x", str(src), check=False).returncode != 0
    before = sorted(os.listdir(os.path.join(daemon.root, "content", "blobs", "sha256")))
    p = berth(daemon, "import", "-", "test/bad", stdin=gzip.compress(rootfs())[:60], check=False)
    assert p.returncode != 0 and p.stderr.strip()
    assert sorted(os.listdir(os.path.join(daemon.root, "content", "blobs", "sha256"))) == before


def test_docker_cli_import(daemon: Berthd, tmp_path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker CLI is not installed")
    env = os.environ | {"DOCKER_HOST": daemon.host, "DOCKER_CONFIG": str(tmp_path / "dockercfg")}
    src = tmp_path / "rootfs.tar"
    src.write_bytes(rootfs())
    p = subprocess.run(
        [docker, "import", "--change", "ENTRYPOINT /bin/tool", str(src), "test/dimp:2"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    assert p.stdout.startswith("sha256:")
    p = subprocess.run(
        [docker, "image", "inspect", "-f", "{{json .Config.Entrypoint}}", "test/dimp:2"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    assert json.loads(p.stdout) == ["/bin/sh", "-c", "/bin/tool"]
