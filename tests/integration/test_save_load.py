"""save/load end to end: an image pulled into berthd from a local docker-registry, saved
with ``berth save``, removed, loaded back (same id, same files); the archive's layouts;
``docker save``/``docker load`` through the docker CLI against berthd; a corrupt or
truncated tarball refused with nothing partial kept. The private-dockerd round trip is in
the ``oracle`` test at the end."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from berth.testing.berthd import Berthd
from berth.testing.registry import REGISTRY, Registry, push_test_image

# the private dockerd of the oracle tests (tests/oracle is a package, tests/ is not)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from oracle._engines import IMAGE, busybox_images, dockerd

__all__ = ["busybox_images", "dockerd"]  # fixtures

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(REGISTRY is None, reason="docker-registry is not installed"),
]


def berth(d: Berthd, *args: str, check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    p = subprocess.run(
        [sys.executable, "-m", "berth.cli.main", *args],
        env=os.environ | d.env(), capture_output=True, timeout=60, input=stdin,
    )
    if check and p.returncode != 0:
        raise AssertionError(f"berth {' '.join(args)}: {p.returncode}\n{p.stdout!r}\n{p.stderr!r}")
    return p


def files(d: Berthd) -> list[str]:
    """Every path in every committed layer's directory (the snapshot listing)."""
    base = os.path.join(d.root, "snapshots")
    out = []
    for n in os.listdir(base) if os.path.isdir(base) else []:
        fs = os.path.join(base, n, "fs")
        for dirpath, dirnames, filenames in os.walk(fs):
            for name in dirnames + filenames:
                p = os.path.join(dirpath, name)
                size = os.lstat(p).st_size if name in filenames else -1
                out.append(f"{os.path.relpath(p, fs)} {size}")
    return sorted(out)


def state(d: Berthd) -> tuple[list[str], list[str]]:
    blobs = os.path.join(d.root, "content", "blobs", "sha256")
    snaps = os.path.join(d.root, "snapshots")
    return (
        sorted(os.listdir(blobs)) if os.path.isdir(blobs) else [],
        sorted(n for n in os.listdir(snaps) if not n.startswith("rm-")) if os.path.isdir(snaps) else [],
    )


def test_save_rmi_load_round_trip(daemon: Berthd, registry: Registry, tmp_path) -> None:
    ref = f"{registry.host}/test/app:1"
    push_test_image(ref, str(tmp_path / "src"))
    berth(daemon, "pull", "-q", ref)
    image_id = json.loads(berth(daemon, "image", "inspect", ref).stdout)[0]["Id"]
    before = files(daemon)
    out = tmp_path / "app.tar"
    berth(daemon, "save", "-o", str(out), ref)

    with tarfile.open(out) as tf:
        names = set(tf.getnames())
        manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
        index = json.load(tf.extractfile("index.json"))  # type: ignore[arg-type]
    assert {"manifest.json", "repositories", "oci-layout", "index.json"} <= names
    assert manifest[0]["RepoTags"] == [ref]
    assert manifest[0]["Config"] == f"{image_id.removeprefix('sha256:')}.json"
    assert len(manifest[0]["Layers"]) == 2
    assert all(p.endswith("/layer.tar") for p in manifest[0]["Layers"])
    assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == ref

    berth(daemon, "rmi", ref)
    assert files(daemon) == []
    p = berth(daemon, "load", "-i", str(out))
    assert p.stdout.decode() == f"Loaded image: {ref}\n"
    assert json.loads(berth(daemon, "image", "inspect", ref).stdout)[0]["Id"] == image_id
    assert files(daemon) == before

    # loading again changes nothing; by stdin, quiet
    st = state(daemon)
    assert berth(daemon, "load", "-q", stdin=out.read_bytes()).stdout.decode() == f"Loaded image: {ref}\n"
    assert state(daemon) == st

    # save to a pipe (stdout) works too; by id: the image's tags
    p = berth(daemon, "save", image_id)
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as tf:
        assert json.load(tf.extractfile("manifest.json"))[0]["RepoTags"] == [ref]  # type: ignore[arg-type]


def test_load_refuses_corrupt_and_truncated(daemon: Berthd, registry: Registry, tmp_path) -> None:
    ref = f"{registry.host}/test/app:1"
    push_test_image(ref, str(tmp_path / "src"))
    berth(daemon, "pull", "-q", ref)
    out = tmp_path / "app.tar"
    berth(daemon, "save", "-o", str(out), ref)
    berth(daemon, "rmi", ref)
    berth(daemon, "pull", "-q", ref)  # something in the store that must stay intact
    st = state(daemon)
    data = out.read_bytes()

    for bad in (data[: len(data) // 2], data[:700] + b"\x00garbage" * 50, b"not a tar at all" * 100):
        p = berth(daemon, "load", check=False, stdin=bad)
        assert p.returncode != 0
        assert p.stderr.strip(), p
        assert state(daemon) == st

    # a layer whose bytes do not match the config's diff_id
    with tarfile.open(out) as tf:
        members = [(m, tf.extractfile(m).read() if m.isfile() else None) for m in tf.getmembers()]  # type: ignore[union-attr]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for m, content in members:
            if content is not None and m.name.startswith("blobs/") and m.size > 2000:
                content = content[:-1000] + b"x" * 1000
            tf.addfile(m, io.BytesIO(content) if content is not None else None)
    p = berth(daemon, "load", check=False, stdin=buf.getvalue())
    assert p.returncode != 0
    assert b"digest" in p.stderr.lower() or b"diff" in p.stderr.lower(), p.stderr
    assert state(daemon) == st

    p = berth(daemon, "save", "nosuch:image", check=False)
    assert p.returncode != 0 and b"No such image" in p.stderr


def test_docker_cli_save_load_against_berthd(daemon: Berthd, registry: Registry, tmp_path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker CLI is not installed")
    ref = f"{registry.host}/test/app:1"
    push_test_image(ref, str(tmp_path / "src"))
    berth(daemon, "pull", "-q", ref)
    env = os.environ | {"DOCKER_HOST": daemon.host, "DOCKER_CONFIG": str(tmp_path / "dockercfg")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([docker, *args], env=env, capture_output=True, text=True, timeout=60, check=True)

    out = tmp_path / "d.tar"
    run("save", "-o", str(out), ref)
    run("rmi", ref)
    assert run("load", "-i", str(out)).stdout == f"Loaded image: {ref}\n"
    assert run("image", "inspect", "-f", "{{.RepoTags}}", ref).stdout.strip() == f"[{ref}]"


@pytest.mark.oracle
def test_archives_move_between_berthd_and_dockerd(daemon: Berthd, registry: Registry, dockerd, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ref = f"{registry.host}/test/app:1"
    push_test_image(ref, str(tmp_path / "src"))
    berth(daemon, "pull", "-q", ref)
    image_id = json.loads(berth(daemon, "image", "inspect", ref).stdout)[0]["Id"]

    # berth save → docker load
    saved = tmp_path / "berth.tar"
    berth(daemon, "save", "-o", str(saved), ref)
    assert dockerd("load", "-i", str(saved)).stdout == f"Loaded image: {ref}\n"
    assert dockerd("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip() == image_id
    dockerd("rmi", ref)

    # docker save → berth load (dockerd 20.10's layout: <id>/layer.tar, no OCI index)
    exported = tmp_path / "docker.tar"
    dockerd("save", "-o", str(exported), IMAGE)
    docker_id = dockerd("image", "inspect", "-f", "{{.Id}}", IMAGE).stdout.strip()
    p = berth(daemon, "load", "-i", str(exported))
    assert p.stdout.decode() == f"Loaded image: {IMAGE}\n"
    assert json.loads(berth(daemon, "image", "inspect", IMAGE).stdout)[0]["Id"] == docker_id
    assert any(f.startswith("bin/busybox ") for f in files(daemon))
    berth(daemon, "rmi", IMAGE)


def test_docker_py_save_load(daemon: Berthd, registry: Registry, tmp_path) -> None:
    docker_sdk = pytest.importorskip("docker")
    ref = f"{registry.host}/test/app:1"
    push_test_image(ref, str(tmp_path / "src"))
    berth(daemon, "pull", "-q", ref)
    client = docker_sdk.DockerClient(base_url=daemon.host)
    try:
        img = client.images.get(ref)
        data = b"".join(img.save())  # GET /images/{name}/get
        client.images.remove(ref)
        loaded = client.images.load(data)
        assert [i.id for i in loaded] == [img.id]
        assert loaded[0].tags == [ref]
    finally:
        client.close()


def test_load_moves_a_tag(daemon: Berthd, registry: Registry, tmp_path) -> None:
    one, two = f"{registry.host}/test/app:1", f"{registry.host}/test/other:1"
    push_test_image(one, str(tmp_path / "one"))
    push_test_image(two, str(tmp_path / "two"), layers=[{"x": b"other"}])
    berth(daemon, "pull", "-q", one)
    berth(daemon, "pull", "-q", two)
    old_id = json.loads(berth(daemon, "image", "inspect", one).stdout)[0]["Id"]
    out = tmp_path / "two.tar"
    berth(daemon, "save", "-o", str(out), two)
    with tarfile.open(out) as tf:
        members = [(m, tf.extractfile(m).read() if m.isfile() else None) for m in tf.getmembers()]  # type: ignore[union-attr]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for m, content in members:
            if m.name == "manifest.json":  # the archive names its image app:1, taken already
                assert content is not None
                doc = json.loads(content)
                doc[0]["RepoTags"] = [one]
                content = json.dumps(doc).encode()
                m.size = len(content)
            if m.name == "index.json":
                continue  # docker-archive only: dockerd 20.10's layout
            tf.addfile(m, io.BytesIO(content) if content is not None else None)
    p = berth(daemon, "load", stdin=buf.getvalue())
    assert p.stdout.decode() == (
        f"The image {one} already exists, renaming the old one with ID {old_id} to empty string\n"
        f"Loaded image: {one}\n"
    )
    assert old_id in berth(daemon, "images", "-q", "--no-trunc").stdout.decode()


def test_load_oci_layout_only(daemon: Berthd, registry: Registry, tmp_path) -> None:
    ref = f"{registry.host}/test/app:1"
    push_test_image(ref, str(tmp_path / "src"))
    berth(daemon, "pull", "-q", ref)
    image_id = json.loads(berth(daemon, "image", "inspect", ref).stdout)[0]["Id"]
    before = files(daemon)
    saved = berth(daemon, "save", ref).stdout
    berth(daemon, "rmi", ref)
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(saved)) as src, tarfile.open(fileobj=buf, mode="w") as dst:
        for m in src.getmembers():
            if m.name in ("oci-layout", "index.json") or m.name.startswith("blobs/"):
                dst.addfile(m, src.extractfile(m) if m.isfile() else None)
    p = berth(daemon, "load", stdin=buf.getvalue())
    assert p.stdout.decode() == f"Loaded image: {ref}\n"
    assert json.loads(berth(daemon, "image", "inspect", ref).stdout)[0]["Id"] == image_id
    assert files(daemon) == before
