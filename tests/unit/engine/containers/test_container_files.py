"""The pieces of ``docker cp``/``commit`` that need no kernel privileges: lookups in a
container tree that must stay inside it, tar extraction's breakout checks, Go file
modes, path naming, the commit config merge and the layer filter."""

from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from berth.engine.containers.archive import _abs_path, _base_name, go_file_mode
from berth.engine.containers.commit import merge_config, strip_init_paths
from berth.engine.containers.fstree import ContainerTree
from berth.engine.containers.tarcopy import ExtractOptions, extract_tar, write_tar
from berth.errdefs import InvalidArgument, NotFound


@pytest.fixture
def root(tmp_path: object) -> str:
    base = str(tmp_path)
    r = os.path.join(base, "rootfs")
    os.makedirs(os.path.join(r, "etc"))
    with open(os.path.join(r, "etc", "passwd"), "w") as f:
        f.write("container\n")
    os.symlink("/etc", os.path.join(r, "linkdir"))
    os.symlink("../../../../../etc/passwd", os.path.join(r, "deep"))
    os.symlink(os.path.join(base, "outside"), os.path.join(r, "hostlink"))
    os.makedirs(os.path.join(base, "outside"))
    return r


def _read(tree: ContainerTree, path: str) -> bytes:
    node = tree.lookup(path, follow=True)
    try:
        fd = node.reopen(os.O_RDONLY)
        try:
            return os.read(fd, 100)
        finally:
            os.close(fd)
    finally:
        node.close()


def test_lookup_follows_links_inside_the_root(root: str) -> None:
    with ContainerTree(root) as tree:
        assert _read(tree, "/deep") == b"container\n"
        assert _read(tree, "/linkdir/passwd") == b"container\n"
        assert _read(tree, "/linkdir/../../../../etc/passwd") == b"container\n"
        node = tree.lookup("/deep", follow=False)
        assert stat.S_ISLNK(node.st.st_mode) and node.comps == ["deep"]
        node.close()
        # An absolute link to a host path is that path inside the container: missing.
        with pytest.raises(NotFound):
            tree.lookup("/hostlink/x")
        with pytest.raises(NotFound):
            tree.lookup("/etc/passwd/x")


def test_lookup_switches_to_mount_sources(root: str, tmp_path: object) -> None:
    vol = os.path.join(str(tmp_path), "vol")
    os.makedirs(vol)
    with open(os.path.join(vol, "f"), "w") as f:
        f.write("volume\n")
    os.symlink("/etc/passwd", os.path.join(vol, "abs"))
    os.makedirs(os.path.join(root, "data"))
    with ContainerTree(root, {"/data": vol}) as tree:
        assert _read(tree, "/data/f") == b"volume\n"
        assert _read(tree, "/data/abs") == b"container\n"  # back to the container's root
        assert tree.mount_of(["data", "f"]) == ("data",)
        assert tree.mount_of(["etc"]) is None


def _tar(entries: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for ti in entries:
            body = (data or {}).get(ti.name)
            if body is not None:
                ti.size = len(body)
                tar.addfile(ti, io.BytesIO(body))
            else:
                tar.addfile(ti)
    buf.seek(0)
    return buf


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = link
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return ti


def _extract(root: str, dest: str, buf: io.BytesIO, **kw: bool) -> None:
    with ContainerTree(root) as tree, tree.directory(dest) as node:
        extract_tar(tree, node, buf, ExtractOptions(lchown=False, **kw))


def test_extract_writes_through_container_links_only(root: str, tmp_path: object) -> None:
    os.makedirs(os.path.join(root, "dst"))
    buf = _tar(
        [_entry("l", tarfile.SYMTYPE, "/etc"), _entry("l/new"), _entry("h", tarfile.SYMTYPE, "/hostlink"), _entry("h/x")],
        {"l/new": b"n\n", "h/x": b"x\n"},
    )
    _extract(root, "/dst", buf)
    assert open(os.path.join(root, "etc", "new"), "rb").read() == b"n\n"
    assert os.listdir(os.path.join(str(tmp_path), "outside")) == []
    # The link's host-looking target is a path inside the container, made there as in a chroot.
    assert os.path.isfile(os.path.join(root, str(tmp_path).lstrip("/"), "outside", "x"))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry("../escape"), "path escapes from the destination"),
        (_entry("a/../../escape"), "path escapes from the destination"),
        (_entry("bad", tarfile.SYMTYPE, "../.."), "invalid symlink"),
        (_entry("hl", tarfile.LNKTYPE, "../etc/passwd"), "invalid hardlink"),
    ],
)
def test_extract_refuses_breakouts(root: str, entry: tarfile.TarInfo, message: str) -> None:
    os.makedirs(os.path.join(root, "dst"))
    with pytest.raises(InvalidArgument, match=message):
        _extract(root, "/dst", _tar([entry], {"../escape": b"", "a/../../escape": b""}))
    assert not os.path.exists(os.path.join(root, "escape"))


def test_extract_no_overwrite_dir_non_dir(root: str) -> None:
    with pytest.raises(InvalidArgument, match="cannot overwrite directory"):
        _extract(root, "/", _tar([_entry("etc")], {"etc": b"x"}), no_overwrite_dir_non_dir=True)
    _extract(root, "/", _tar([_entry("etc/passwd")], {"etc/passwd": b"replaced\n"}))
    assert open(os.path.join(root, "etc", "passwd"), "rb").read() == b"replaced\n"


def test_write_tar_names_a_directory_by_its_base(root: str) -> None:
    out = io.BytesIO()
    with ContainerTree(root) as tree:
        node = tree.lookup("/linkdir/", follow=True)
        write_tar(tree, node, "linkdir", out)
        node.close()
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        assert tar.getnames() == ["linkdir", "linkdir/passwd"]


def test_go_file_mode_and_names() -> None:
    assert go_file_mode(stat.S_IFREG | 0o644) == 0o644
    assert go_file_mode(stat.S_IFDIR | 0o1777) == (1 << 31) | (1 << 20) | 0o777  # /tmp
    assert go_file_mode(stat.S_IFLNK | 0o777) == (1 << 27) | 0o777
    assert go_file_mode(stat.S_IFCHR | 0o666) == (1 << 26) | (1 << 21) | 0o666
    assert _abs_path("tmp/") == "/tmp/" and _base_name("/tmp/") == "tmp"
    assert _abs_path("/a/../b/.") == "/b/." and _base_name("/b/.") == "b"
    assert _abs_path("/") == "/" and _base_name("/") == "/"


def test_merge_config_completes_from_the_container() -> None:
    user = {"Cmd": ["cat", "/x"], "Env": ["A=1"], "Labels": {"k": "v"}}
    image = {"User": "nobody", "Env": ["A=0", "PATH=/bin"], "Cmd": ["sh"], "Entrypoint": None, "WorkingDir": "/w"}
    merge_config(user, image)
    assert user["Cmd"] == ["cat", "/x"] and user["User"] == "nobody" and user["WorkingDir"] == "/w"
    assert user["Env"] == ["A=1", "PATH=/bin"]
    empty: dict[str, object] = {}
    merge_config(empty, image)
    assert empty["Cmd"] == ["sh"]


def test_strip_init_paths_keeps_other_entries_byte_for_byte() -> None:
    entries = [_entry("etc", tarfile.DIRTYPE), _entry("etc/hostname"), _entry("etc/real"), _entry("proc", tarfile.DIRTYPE)]
    src = _tar(entries, {"etc/hostname": b"abc\n", "etc/real": b"keep\n"})
    dst = io.BytesIO()
    strip_init_paths(src, dst)
    dst.seek(0)
    with tarfile.open(fileobj=dst) as tar:
        assert tar.getnames() == ["etc", "etc/real"]
        f = tar.extractfile("etc/real")
        assert f is not None and f.read() == b"keep\n"
