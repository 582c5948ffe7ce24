"""Volumes end to end: the berth CLI (and the docker CLI, when installed) against a
berthd of the test's own; the local driver's tmpfs and bind options mounted for real."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from berth import errdefs
from berth.metadata import Database
from berth.testing.berthd import Berthd
from berth.volumes import VolumeService
from berth.volumes.local import mounts_under

pytestmark = pytest.mark.root

DOCKER = shutil.which("docker")


def berth(d: Berthd, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, "-m", "berth.cli.main", *args],
        env=os.environ | d.env(), capture_output=True, text=True, timeout=60, input=stdin,
    )  # fmt: skip
    if check and p.returncode != 0:
        raise AssertionError(f"berth {' '.join(args)}: {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def docker(d: Berthd, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    if DOCKER is None:
        pytest.skip("docker CLI is not installed")
    env = os.environ | {"DOCKER_HOST": d.host, "DOCKER_CONFIG": os.path.join(d.dir, "dockercfg")}
    p = subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def test_berth_cli_volume_create_ls_inspect_rm_prune(daemon: Berthd) -> None:
    assert berth(daemon, "volume", "create", "--label", "purpose=test", "itvol1").stdout == "itvol1\n"
    anon = berth(daemon, "volume", "create").stdout.strip()
    assert len(anon) == 64
    assert berth(daemon, "volume", "ls").stdout == (
        "DRIVER    VOLUME NAME\n" + "".join(f"local     {n}\n" for n in sorted([anon, "itvol1"]))
    )
    assert berth(daemon, "volume", "ls", "-q", "--filter", "label=purpose=test").stdout == "itvol1\n"

    doc = json.loads(berth(daemon, "volume", "inspect", "itvol1").stdout)
    mountpoint = os.path.join(daemon.root, "volumes", "itvol1", "_data")
    assert doc[0]["Mountpoint"] == mountpoint and os.path.isdir(mountpoint)
    assert doc[0]["Labels"] == {"purpose": "test"} and doc[0]["Scope"] == "local"
    fmt = berth(daemon, "volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "itvol1").stdout
    assert fmt == "itvol1 local\n"

    p = berth(daemon, "volume", "inspect", "nosuch-vol", check=False)
    assert p.returncode == 1 and p.stdout == "[]\n" and p.stderr == "Error: No such volume: nosuch-vol\n"
    p = berth(daemon, "volume", "create", "bad/name", check=False)
    assert p.returncode == 1 and p.stderr.startswith('Error response from daemon: "bad/name" includes invalid')

    with open(os.path.join(daemon.root, "volumes", anon, "_data", "f"), "wb") as f:
        f.write(b"x" * 2000)
    p = berth(daemon, "volume", "prune", stdin="y\n")
    assert p.stdout == (
        "WARNING! This will remove anonymous local volumes not used by at least one container.\n"
        f"Are you sure you want to continue? [y/N] Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 2kB\n"
    )
    assert berth(daemon, "volume", "ls", "-q").stdout == "itvol1\n"

    assert berth(daemon, "volume", "rm", "itvol1").stdout == "itvol1\n"
    assert not os.path.exists(os.path.dirname(mountpoint))
    p = berth(daemon, "volume", "rm", "itvol1", check=False)
    assert p.returncode == 1 and p.stderr == "Error response from daemon: get itvol1: no such volume\n"
    assert berth(daemon, "volume", "rm", "-f", "itvol1").returncode == 0

    berth(daemon, "volume", "create", "itvol2")
    assert berth(daemon, "volume", "prune", "-f").stdout == "Total reclaimed space: 0B\n"
    assert berth(daemon, "volume", "prune", "-f", "-a").stdout == (
        "Deleted Volumes:\nitvol2\n\nTotal reclaimed space: 0B\n"
    )


def test_docker_cli_volume_commands(daemon: Berthd) -> None:
    assert docker(daemon, "volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "dkvol1").stdout == "dkvol1\n"
    doc = json.loads(docker(daemon, "volume", "inspect", "dkvol1").stdout)[0]
    assert doc["Options"] == {"type": "tmpfs", "device": "tmpfs"} and doc["Driver"] == "local"
    assert docker(daemon, "volume", "ls", "--format", "{{.Name}}").stdout == "dkvol1\n"
    assert docker(daemon, "volume", "rm", "dkvol1").stdout == "dkvol1\n"
    p = docker(daemon, "volume", "inspect", "dkvol1", check=False)
    assert p.returncode == 1 and "no such volume" in p.stderr.lower() and "dkvol1" in p.stderr


@pytest.fixture
def service(tmp_path) -> Iterator[VolumeService]:  # type: ignore[no-untyped-def]
    db = Database(str(tmp_path / "berth.db"))
    svc = VolumeService(str(tmp_path / "root"), db)
    try:
        yield svc
    finally:
        for target in mounts_under(str(tmp_path / "root")):
            subprocess.run(["umount", "-l", target], check=False)
        db.close()


def test_tmpfs_volume_is_mounted_while_used(service: VolumeService) -> None:
    v = service.create("tmpfsvol", options={"type": "tmpfs", "device": "tmpfs", "o": "size=1m,mode=0700"})
    assert not os.path.ismount(v.mountpoint)
    service.mount("tmpfsvol", "c1")
    service.mount("tmpfsvol", "c2")
    assert os.path.ismount(v.mountpoint)
    assert oct(os.stat(v.mountpoint).st_mode & 0o777) == "0o700"
    with pytest.raises(errdefs.Conflict, match=r"in use - \[c1, c2\]"):
        service.remove("tmpfsvol")
    service.unmount("tmpfsvol", "c1")
    assert os.path.ismount(v.mountpoint)
    service.unmount("tmpfsvol", "c2")
    assert not os.path.ismount(v.mountpoint)
    service.remove("tmpfsvol")


def test_bind_volume_shows_the_device_and_never_deletes_it(service: VolumeService, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "bindsrc"
    src.mkdir()
    (src / "keep").write_bytes(b"precious")
    v = service.create("bindvol", options={"type": "none", "device": str(src), "o": "bind"})
    service.mount("bindvol", "c1")
    assert os.listdir(v.mountpoint) == ["keep"]
    service.unmount("bindvol", "c1")
    assert os.listdir(v.mountpoint) == []
    service.mount("bindvol", "c9")
    service.driver._refs.clear()  # as after a daemon crash: the mount is still there
    service.remove("bindvol")
    assert (src / "keep").read_bytes() == b"precious"


def test_copy_up_keeps_owners(service: VolumeService, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "img"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f").write_bytes(b"x")
    os.chown(src / "d" / "f", 1234, 5678)
    os.chown(src / "d", 4321, 8765)
    os.mknod(src / "fifo", 0o600 | 0o010000)
    v = service.create("cpvol")
    assert service.copy_up("cpvol", str(src))
    st = os.stat(os.path.join(v.mountpoint, "d", "f"))
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    st = os.stat(os.path.join(v.mountpoint, "d"))
    assert (st.st_uid, st.st_gid) == (4321, 8765)
    assert os.path.exists(os.path.join(v.mountpoint, "fifo"))
    service.remove("cpvol")
