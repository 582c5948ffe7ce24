"""A container's files through berthd: put/get archive (``docker cp``), the path-stat
header, symlinks that must not lead out of the container, diff, export and commit —
driven by the Python docker SDK, and by the docker CLI where it is installed."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator

import docker
import pytest
from docker.errors import APIError, NotFound

from berth.testing.berthd import Berthd

pytestmark = pytest.mark.root

DOCKER_CLI = "/usr/local/bin/docker"


@pytest.fixture
def client(daemon: Berthd, busybox: str) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    yield c
    for ctr in c.containers.list(all=True):
        ctr.remove(force=True)
    c.close()


def _tar(files: dict[str, bytes], dirs: tuple[str, ...] = (), links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in dirs:
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            tar.addfile(ti)
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = 1_700_000_000
            tar.addfile(ti, io.BytesIO(data))
        for name, target in (links or {}).items():
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.SYMTYPE
            ti.linkname = target
            tar.addfile(ti)
    return buf.getvalue()


def _untar(chunks: Iterator[bytes]) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    data = b"".join(chunks)
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for ti in tar:
            f = tar.extractfile(ti) if ti.isreg() else None
            out[ti.name] = (ti, f.read() if f else b"")
    return out


def _exec(ctr: docker.models.containers.Container, cmd: str) -> tuple[int, bytes]:
    r = ctr.exec_run(["sh", "-c", cmd])
    return r.exit_code, r.output


def test_put_and_get_archive_round_trip(client: docker.DockerClient) -> None:
    ctr = client.containers.run("busybox", ["sleep", "300"], detach=True)
    tar = _tar({"dir/a.txt": b"alpha\n", "dir/sub/b.txt": b"beta\n", "top.txt": b"top\n"}, dirs=("dir",))
    assert ctr.put_archive("/tmp", tar)
    code, out = _exec(ctr, "cat /tmp/dir/a.txt /tmp/dir/sub/b.txt /tmp/top.txt")
    assert code == 0 and out == b"alpha\nbeta\ntop\n"

    stream, st = ctr.get_archive("/tmp/dir")
    got = _untar(stream)
    assert st["name"] == "dir"
    assert st["mode"] & (1 << 31)  # Go's os.ModeDir
    assert set(got) == {"dir", "dir/a.txt", "dir/sub", "dir/sub/b.txt"}
    assert got["dir/sub/b.txt"][1] == b"beta\n"
    assert got["dir/a.txt"][0].mtime == 1_700_000_000

    stream, st = ctr.get_archive("/tmp/top.txt")
    got = _untar(stream)
    assert list(got) == ["top.txt"] and got["top.txt"][1] == b"top\n"
    assert st == {"name": "top.txt", "size": 4, "mode": 0o644, "mtime": st["mtime"], "linkTarget": ""}
    assert st["mtime"].startswith("2023-11-14T22:13:20")


def test_stat_header_and_missing_path(client: docker.DockerClient, daemon: Berthd) -> None:
    ctr = client.containers.create("busybox", ["true"])  # never started: mounted for the request

    def head(path: str) -> tuple[int, dict[str, object]]:
        status, headers, _ = daemon.request("HEAD", f"/containers/{ctr.id}/archive?path={path}")
        raw = {k.lower(): v for k, v in headers.items()}.get("x-docker-container-path-stat")
        return status, json.loads(base64.b64decode(raw)) if raw else {}

    status, st = head("/bin/busybox")
    assert status == 200
    assert st["name"] == "busybox" and int(st["size"]) > 100_000 and int(st["mode"]) & 0o111  # type: ignore[call-overload]
    status, st = head("/etc/")
    assert status == 200 and st["name"] == "etc" and int(st["mode"]) & (1 << 31)  # type: ignore[call-overload]
    with pytest.raises(NotFound) as err:
        ctr.get_archive("/nope/x")
    assert f"Could not find the file /nope/x in container {ctr.id}" in str(err.value)
    status, _, _ = daemon.request("HEAD", f"/containers/{ctr.id}/archive?path=/nope")
    assert status == 404
    tmp_mounts = os.path.join(daemon.root, "tmp") + "/"
    assert not [line for line in open("/proc/self/mounts") if tmp_mounts in line]


def test_symlinks_do_not_lead_out_of_the_container(client: docker.DockerClient, tmp_path: str) -> None:
    ctr = client.containers.run("busybox", ["sleep", "300"], detach=True)
    code, _ = _exec(
        ctr,
        "echo inside > /etc/secret && ln -s /etc/secret /linkfile && ln -s /etc /linkdir"
        " && ln -s ../../../../../../../../etc/secret /tmp/deep && mkdir /target",
    )
    assert code == 0
    host_secret = "/etc/secret"
    assert not os.path.exists(host_secret)
    # The stat of a symlink names its target inside the container.
    _, st = ctr.get_archive("/linkfile")
    assert st["mode"] & (1 << 27) and st["linkTarget"] == "/etc/secret"
    # Followed (trailing slash, dotdot tricks): the container's file, never the host's.
    for path in ("/tmp/deep", "/linkdir/secret", "/linkdir/../../../etc/secret"):
        stream, _ = ctr.get_archive(path)
        got = _untar(stream)
        assert len(got) == 1
        ti, data = next(iter(got.values()))
        if ti.issym():
            continue  # the last component is a link: archived as a link
        assert data == b"inside\n", path
    stream, _ = ctr.get_archive("/linkdir/")
    names = set(_untar(stream))
    assert "linkdir/secret" in names and "linkdir/passwd" in names
    host_passwd = open("/etc/passwd", "rb").read()
    stream, _ = ctr.get_archive("/linkdir/passwd")
    assert _untar(stream)["passwd"][1] != host_passwd
    # put_archive through a symlinked directory lands inside the container.
    assert ctr.put_archive("/linkdir", _tar({"planted": b"x\n"}))
    assert not os.path.exists("/etc/planted")
    assert _exec(ctr, "cat /etc/planted") == (0, b"x\n")
    # Entries that climb out, or relative links that point above the destination: refused.
    with pytest.raises(APIError):
        ctr.put_archive("/target", _tar({"../../../../escape": b"x"}))
    with pytest.raises(APIError):
        ctr.put_archive("/target", _tar({}, links={"bad": "../../../../.."}))
    assert not os.path.exists("/escape")
    # A tar whose first entry makes a symlink to /etc and whose next writes through it.
    assert ctr.put_archive("/target", _tar({"l/owned": b"y\n"}, links={"l": "/etc"}))
    assert not os.path.exists("/etc/owned")


def test_put_archive_errors(client: docker.DockerClient) -> None:
    ctr = client.containers.create("busybox", ["true"], read_only=True)
    with pytest.raises(APIError) as err:
        ctr.put_archive("/tmp", _tar({"x": b"x"}))
    assert err.value.status_code == 403
    assert "container rootfs is marked read-only" in str(err.value)
    rw = client.containers.create("busybox", ["true"])
    with pytest.raises(NotFound):
        rw.put_archive("/missing-dir", _tar({"x": b"x"}))
    with pytest.raises(APIError) as err:
        rw.put_archive("/bin/busybox", _tar({"x": b"x"}))
    assert "extraction point is not a directory" in str(err.value)


def test_cp_reaches_volumes_and_binds(client: docker.DockerClient, tmp_path: str) -> None:
    bind = os.path.join(str(tmp_path), "bind")
    os.mkdir(bind)
    with open(os.path.join(bind, "from-host"), "w") as f:
        f.write("host\n")
    ctr = client.containers.create(
        "busybox", ["true"], volumes={"cpvol": {"bind": "/data", "mode": "rw"}, bind: {"bind": "/ro", "mode": "ro"}}
    )
    assert ctr.put_archive("/data", _tar({"in-volume": b"v\n"}))
    vol = client.volumes.get("cpvol")
    assert open(os.path.join(vol.attrs["Mountpoint"], "in-volume"), "rb").read() == b"v\n"
    stream, _ = ctr.get_archive("/ro/from-host")
    assert _untar(stream)["from-host"][1] == b"host\n"
    with pytest.raises(APIError) as err:
        ctr.put_archive("/ro", _tar({"x": b"x"}))
    assert err.value.status_code == 403 and "mounted volume is marked read-only" in str(err.value)
    ctr.remove(v=True)
    vol.remove()


def test_diff_reports_added_modified_deleted(client: docker.DockerClient) -> None:
    ctr = client.containers.run("busybox", ["sh", "-c", "touch /new && rm /etc/group && mkdir -p /a/b"], detach=True)
    assert ctr.wait(timeout=30)["StatusCode"] == 0
    changes = {(c["Path"], c["Kind"]) for c in ctr.diff()}
    assert ("/new", 1) in changes
    assert ("/etc", 0) in changes
    assert ("/etc/group", 2) in changes
    assert ("/a", 1) in changes and ("/a/b", 1) in changes
    # The runtime's mount points are not changes (Docker's init layer hides them).
    paths = {p for p, _ in changes}
    assert not paths & {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/proc", "/sys", "/dev"}


def test_export_contains_the_rootfs(client: docker.DockerClient) -> None:
    ctr = client.containers.run("busybox", ["sh", "-c", "echo exported > /marker"], detach=True)
    ctr.wait(timeout=30)
    got = _untar(ctr.export())
    assert "bin/busybox" in got and got["bin/busybox"][0].size > 100_000
    assert got["marker"][1] == b"exported\n"


def test_commit_then_run_the_new_image(client: docker.DockerClient) -> None:
    ctr = client.containers.run("busybox", ["sh", "-c", "echo committed > /made"], detach=True)
    ctr.wait(timeout=30)
    img = ctr.commit(
        repository="example/committed", tag="v1", message="a message", author="me",
        changes=["CMD [\"cat\", \"/made\"]", "ENV FOO=bar", "LABEL k=v"],
    )  # fmt: skip
    assert img.id.startswith("sha256:")
    assert "example/committed:v1" in img.tags
    attrs = client.api.inspect_image("example/committed:v1")  # type: ignore[no-untyped-call]
    assert attrs["Config"]["Cmd"] == ["cat", "/made"]
    assert "FOO=bar" in attrs["Config"]["Env"]
    assert attrs["Config"]["Labels"]["k"] == "v"
    assert attrs["Comment"] == "a message" and attrs["Author"] == "me"
    assert len(attrs["RootFS"]["Layers"]) == 2
    out = client.containers.run("example/committed:v1", remove=True)
    assert out == b"committed\n"
    hist = client.api.history("example/committed:v1")  # type: ignore[no-untyped-call]
    assert hist[0]["CreatedBy"] == "sh -c echo committed > /made" and hist[0]["Comment"] == "a message"


def test_commit_of_a_running_container(client: docker.DockerClient) -> None:
    ctr = client.containers.run("busybox", ["sh", "-c", "echo live > /live; sleep 300"], detach=True)
    for _ in range(50):
        if _exec(ctr, "test -f /live")[0] == 0:
            break
    t0 = int(time.time()) - 1
    img = ctr.commit()
    assert img.tags == []
    ctr.reload()
    assert ctr.attrs["State"]["Status"] == "running"
    evs = client.events(since=t0, until=int(time.time()) + 1, decode=True, filters={"container": ctr.id})
    actions = [e["Action"] for e in evs]
    assert actions[-3:] == ["pause", "unpause", "commit"]
    out = client.containers.run(img.id, ["cat", "/live"], remove=True)
    assert out == b"live\n"


@pytest.mark.skipif(not os.access(DOCKER_CLI, os.X_OK), reason="docker CLI not installed")
def test_docker_cli_cp_and_diff(client: docker.DockerClient, daemon: Berthd, tmp_path: str) -> None:
    ctr = client.containers.run("busybox", ["sleep", "300"], detach=True, name="cpcli")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([DOCKER_CLI, "-H", daemon.host, *args], capture_output=True, text=True, timeout=60)

    src = os.path.join(str(tmp_path), "hello.txt")
    with open(src, "w") as f:
        f.write("hello-cli\n")
    r = cli("cp", src, "cpcli:/tmp/")
    assert r.returncode == 0, r.stderr
    assert _exec(ctr, "cat /tmp/hello.txt") == (0, b"hello-cli\n")
    dst = os.path.join(str(tmp_path), "out")
    r = cli("cp", "cpcli:/etc", dst)
    assert r.returncode == 0, r.stderr
    assert os.path.isfile(os.path.join(dst, "passwd"))
    r = cli("cp", "cpcli:/nope", dst)
    assert r.returncode != 0 and "Could not find the file /nope in container cpcli" in r.stderr
    r = cli("diff", "cpcli")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "C /tmp" in lines and "A /tmp/hello.txt" in lines
