"""The overlay snapshotter on a real kernel, as root: two layers made with berth.archive
(one deleting a file, one making a directory opaque) applied into committed snapshots, a
container's active snapshot mounted over them, the merged view checked, written, and its
upper directory diffed back into a layer with the right whiteouts. Every directory is
named ``berth-test-…``; every mount comes off in ``finally``.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator

import pytest

from berth.archive import apply_layer, chain_ids, diff
from berth.archive.whiteout import is_opaque, is_whiteout, make_whiteout, set_opaque
from berth.metadata import Database
from berth.snapshots import OverlaySnapshotter, mount_all, unmount

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]

T0 = 1_600_000_000


def _write(path: str, data: bytes = b"") -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def _layer(lower_dirs: list[str], upper: str) -> bytes:
    return b"".join(diff(lower_dirs, upper, source_date_epoch=T0))


def _names(tar: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as t:
        return [m.name for m in t.getmembers()]


@pytest.fixture
def work() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="berth-test-snapshots-")
    try:
        yield d
    finally:
        _unmount_under(d)
        shutil.rmtree(d, ignore_errors=True)


def _unmount_under(d: str) -> None:
    """Belt and braces: nothing of this test stays mounted, whatever failed."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for p in sorted((p for p in points if p.startswith(d)), reverse=True):
        unmount(p, detach=True)


@pytest.fixture
def sn(work: str) -> Iterator[OverlaySnapshotter]:
    db = Database(os.path.join(work, "berth.db"))
    try:
        yield OverlaySnapshotter(os.path.join(work, "root"), db)
    finally:
        db.close()


def _make_layers(work: str) -> tuple[bytes, bytes]:
    """Layer 1: a base tree. Layer 2: deletes etc/gone, makes opq/ opaque with one new
    file, adds new.txt — written as an overlay upper and diffed, as a build step would."""
    base = os.path.join(work, "src-base")
    _write(os.path.join(base, "etc", "keep"), b"kept\n")
    _write(os.path.join(base, "etc", "gone"), b"to be deleted\n")
    _write(os.path.join(base, "opq", "a"), b"a\n")
    _write(os.path.join(base, "opq", "sub", "b"), b"b\n")
    _write(os.path.join(base, "dir", "x"), b"x\n")
    layer1 = _layer([], base)

    top = os.path.join(work, "src-top")
    os.makedirs(os.path.join(top, "etc"))
    make_whiteout(os.path.join(top, "etc", "gone"))
    os.makedirs(os.path.join(top, "opq"))
    set_opaque(os.path.join(top, "opq"))
    _write(os.path.join(top, "opq", "c"), b"c\n")
    _write(os.path.join(top, "new.txt"), b"new\n")
    layer2 = _layer([base], top)
    assert "etc/.wh.gone" in _names(layer2)
    assert "opq/.wh..wh..opq" in _names(layer2)
    return layer1, layer2


def _unpack(sn: OverlaySnapshotter, layers: list[bytes]) -> list[str]:
    """Apply each layer into an active snapshot and commit it as its chain id."""
    results = []
    parent = None
    for i, blob in enumerate(layers):
        key = f"extract-{i}"
        sn.prepare(key, parent)
        results.append(apply_layer(sn.fs_dir(key), io.BytesIO(blob), parents=sn.lower_dirs(key)))
        name = chain_ids([r.diff_id for r in results])[-1]
        sn.commit(name, key)
        parent = name
    return chain_ids([r.diff_id for r in results])


def test_a_container_sees_the_merged_layers_and_its_writes_diff_into_whiteouts(sn, work):
    c1, c2 = _unpack(sn, list(_make_layers(work)))

    top = sn.fs_dir(c2)
    assert is_whiteout(os.lstat(os.path.join(top, "etc", "gone")))
    assert is_opaque(os.path.join(top, "opq"))

    mounts = sn.prepare("berth-test-ctr", c2)
    assert mounts[0].type == "overlay"
    rootfs = os.path.join(work, "rootfs")
    os.mkdir(rootfs)
    mount_all(mounts, rootfs)
    try:
        assert sorted(os.listdir(rootfs)) == ["dir", "etc", "new.txt", "opq"]
        assert sorted(os.listdir(os.path.join(rootfs, "etc"))) == ["keep"]
        assert not os.path.lexists(os.path.join(rootfs, "etc", "gone"))
        assert os.listdir(os.path.join(rootfs, "opq")) == ["c"]
        assert open(os.path.join(rootfs, "new.txt"), "rb").read() == b"new\n"
        assert open(os.path.join(rootfs, "dir", "x"), "rb").read() == b"x\n"

        # the container writes
        _write(os.path.join(rootfs, "etc", "hostname"), b"ctr\n")
        with open(os.path.join(rootfs, "etc", "keep"), "ab") as f:
            f.write(b"changed\n")
        os.unlink(os.path.join(rootfs, "dir", "x"))
        shutil.rmtree(os.path.join(rootfs, "opq"))
        os.mkdir(os.path.join(rootfs, "opq"))
        _write(os.path.join(rootfs, "opq", "d"), b"d\n")
    finally:
        unmount(rootfs)
    assert os.listdir(rootfs) == []

    # the lower layers are untouched; the upper holds the change set
    assert open(os.path.join(sn.fs_dir(c1), "etc", "keep"), "rb").read() == b"kept\n"
    layer3 = b"".join(diff(sn.lower_dirs("berth-test-ctr"), sn.fs_dir("berth-test-ctr")))
    names = _names(layer3)
    assert "dir/.wh.x" in names
    assert "etc/hostname" in names and "etc/keep" in names
    assert "opq/.wh..wh..opq" in names and "opq/d" in names
    assert not any(n.startswith("etc/.wh.") for n in names)  # etc was not deleted
    usage = sn.usage("berth-test-ctr")
    assert usage.inodes >= 7  # fs, dir, x-whiteout, etc, hostname, keep, opq, d

    sn.remove("berth-test-ctr")
    sn.remove(c2)
    sn.remove(c1)
    assert list(sn.walk()) == []
    assert os.listdir(os.path.join(sn.root, "snapshots")) == []


def test_a_view_of_the_chain_is_read_only(sn, work):
    c1, c2 = _unpack(sn, list(_make_layers(work)))
    target = os.path.join(work, "view")
    os.mkdir(target)
    for key, parent, expect in (
        ("v-top", c2, ["dir", "etc", "new.txt", "opq"]),
        ("v-base", c1, ["dir", "etc", "opq"]),
    ):
        mount_all(sn.view(key, parent), target)
        try:
            assert sorted(os.listdir(target)) == expect
            with pytest.raises(OSError) as exc:
                _write(os.path.join(target, "etc", "nope"), b"")
            assert exc.value.errno == 30  # EROFS
        finally:
            unmount(target)
        sn.remove(key)
    sn.remove(c2)
    sn.remove(c1)


def test_a_single_layer_container_is_a_writable_bind(sn, work):
    (c1,) = _unpack(sn, [_make_layers(work)[0]])
    sn.prepare("berth-test-scratch")  # no parent: a bind of its own empty directory
    target = os.path.join(work, "scratch")
    os.mkdir(target)
    mount_all(sn.mounts("berth-test-scratch"), target)
    try:
        _write(os.path.join(target, "f"), b"1")
    finally:
        unmount(target)
    assert os.listdir(sn.fs_dir("berth-test-scratch")) == ["f"]
    sn.remove("berth-test-scratch")
    sn.remove(c1)
