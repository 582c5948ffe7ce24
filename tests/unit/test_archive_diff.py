"""Making layers from overlay upper directories: whiteouts back to tar form,
deterministic bytes, and a round trip through apply_layer."""

import hashlib
import io
import os
import stat
import tarfile

import pytest

from berth.archive import apply_layer, chain_id, compressor, diff, diff_id, write_diff
from berth.archive.whiteout import OVERLAY_OPAQUE_XATTR
from berth.errdefs import InvalidArgument
from berth.oci.digest import sha256_of

T0 = 1_600_000_000


def _tar(chunks) -> bytes:
    return b"".join(chunks)


def _members(data: bytes):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
        return [(m, t.extractfile(m).read() if m.isreg() else None) for m in t.getmembers()]


def _names(data):
    return [m.name for m, _ in _members(data)]


def _touch_all(path, t=T0):
    for dirpath, dirs, files in os.walk(path, topdown=False):
        for name in dirs + files:
            os.utime(os.path.join(dirpath, name), (t, t), follow_symlinks=False)
    os.utime(path, (t, t))


@pytest.fixture
def upper(tmp_path):
    u = tmp_path / "upper"
    (u / "etc").mkdir(parents=True)
    (u / "etc/hostname").write_bytes(b"box\n")
    (u / "bin").mkdir()
    (u / "bin/app").write_bytes(b"ELF" * 300)
    os.chmod(u / "bin/app", 0o4755)
    os.link(u / "bin/app", u / "bin/app-link")
    os.symlink("app", u / "bin/sh")
    os.mkfifo(u / "fifo")
    (u / "B").write_bytes(b"upper-case sorts first")
    _touch_all(u)
    return str(u)


def test_entries_are_sorted_with_directories_first(upper):
    names = _names(_tar(diff([], upper)))
    assert names == ["B", "bin", "bin/app", "bin/app-link", "bin/sh", "etc", "etc/hostname", "fifo"]


def test_entry_metadata(upper):
    members = {m.name: (m, data) for m, data in _members(_tar(diff([], upper)))}
    app, data = members["bin/app"]
    assert app.isreg() and data == b"ELF" * 300 and app.mode == 0o4755
    assert app.mtime == T0 and app.uname == "" and app.gname == ""
    link, _ = members["bin/app-link"]
    assert link.islnk() and link.linkname == "bin/app"
    sh, _ = members["bin/sh"]
    assert sh.issym() and sh.linkname == "app"
    assert members["fifo"][0].isfifo()
    assert members["bin"][0].isdir()
    assert members["bin"][0].uid == os.getuid()


def test_output_is_deterministic(upper, tmp_path):
    first = _tar(diff([], upper))
    # Sub-second times, access times and inode numbers do not show.
    os.utime(os.path.join(upper, "etc/hostname"), ns=(5, T0 * 10**9 + 123_456_789))
    os.rename(os.path.join(upper, "etc/hostname"), os.path.join(upper, "etc/h2"))
    os.rename(os.path.join(upper, "etc/h2"), os.path.join(upper, "etc/hostname"))
    os.utime(os.path.join(upper, "etc"), (T0, T0))
    assert _tar(diff([], upper)) == first
    # Go's archive/tar ends with two zero blocks and no record padding.
    assert len(first) % 512 == 0 and first.endswith(b"\0" * 1024)
    assert len(first) - len(first.rstrip(b"\0")) < 1024 + 512


def test_source_date_epoch_clamps_mtimes(upper):
    members = _members(_tar(diff([], upper, source_date_epoch=1000)))
    assert {m.mtime for m, _ in members} == {1000}


def test_write_diff_returns_the_diff_id(upper):
    out = io.BytesIO()
    digest, size = write_diff([], upper, out)
    assert digest == sha256_of(out.getvalue()) and size == len(out.getvalue())
    assert diff_id(io.BytesIO(out.getvalue())) == digest


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_diff_id_of_a_compressed_blob_is_that_of_the_tar(upper, kind):
    tar = _tar(diff([], upper))
    blob = io.BytesIO()
    with compressor(blob, kind) as w:
        w.write(tar)
    assert blob.getvalue() != tar
    assert diff_id(io.BytesIO(blob.getvalue())) == sha256_of(tar)
    # Compression is deterministic too.
    again = io.BytesIO()
    with compressor(again, kind) as w:
        w.write(tar)
    assert again.getvalue() == blob.getvalue()


def test_xattrs_go_in_sorted_and_overlay_ones_stay_out(tmp_path):
    u = tmp_path / "u"
    u.mkdir()
    (u / "f").write_bytes(b"")
    os.setxattr(u / "f", "user.b", b"2")
    os.setxattr(u / "f", "user.a", b"\xff\x00binary")
    if os.geteuid() == 0:
        os.setxattr(u / "f", "trusted.overlay.origin", b"x")
    (m, _), = _members(_tar(diff([], str(u))))
    assert m.pax_headers["SCHILY.xattr.user.a"].encode("utf-8", "surrogateescape") == b"\xff\x00binary"
    assert m.pax_headers["SCHILY.xattr.user.b"] == "2"
    assert not any("overlay" in k for k in m.pax_headers)


def test_sockets_are_skipped(tmp_path):
    import socket

    u = tmp_path / "u"
    u.mkdir()
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(u / "sock"))
        assert _names(_tar(diff([], str(u)))) == []
    finally:
        s.close()


def test_not_a_directory(tmp_path):
    with pytest.raises(InvalidArgument):
        diff([], str(tmp_path / "missing"))


# -- whiteouts -------------------------------------------------------------------------


@pytest.fixture
def overlay_upper(tmp_path):
    """An upper dir as overlayfs leaves it, over a lower with etc/passwd, var/cache/old
    and opt/."""
    lower = tmp_path / "lower"
    (lower / "etc").mkdir(parents=True)
    (lower / "etc/passwd").write_text("root")
    (lower / "var/cache").mkdir(parents=True)
    (lower / "var/cache/old").write_text("old")
    (lower / "opt").mkdir()
    u = tmp_path / "upper"
    (u / "etc").mkdir(parents=True)
    os.mknod(u / "etc/passwd", stat.S_IFCHR, os.makedev(0, 0))
    os.mknod(u / "etc/never-existed", stat.S_IFCHR, os.makedev(0, 0))
    (u / "var/cache").mkdir(parents=True)
    os.setxattr(u / "var/cache", OVERLAY_OPAQUE_XATTR, b"y")
    (u / "var/cache/new").write_text("new")
    (u / "newdir").mkdir()
    os.setxattr(u / "newdir", OVERLAY_OPAQUE_XATTR, b"y")
    _touch_all(u)
    return str(lower), str(u)


@pytest.mark.root
def test_whiteouts_and_opaque_dirs_become_tar_markers(overlay_upper):
    lower, u = overlay_upper
    members = {m.name: m for m, _ in _members(_tar(diff([lower], u)))}
    assert sorted(members) == [
        "etc", "etc/.wh.passwd", "newdir", "var", "var/cache", "var/cache/.wh..wh..opq",
        "var/cache/new",
    ]  # fmt: skip
    wo = members["etc/.wh.passwd"]
    assert wo.isreg() and wo.size == 0 and wo.mode == 0o600
    assert members["var/cache/.wh..wh..opq"].isreg()
    assert not any("overlay" in k for k in members["var/cache"].pax_headers)


@pytest.mark.root
def test_without_lowers_every_marker_is_kept(overlay_upper):
    _, u = overlay_upper
    names = _names(_tar(diff([], u)))
    assert "etc/.wh.never-existed" in names and "newdir/.wh..wh..opq" in names


@pytest.mark.root
def test_round_trip_through_apply(overlay_upper, tmp_path):
    lower, u = overlay_upper
    tar = _tar(diff([lower], u))
    back = tmp_path / "back"
    back.mkdir()
    r = apply_layer(str(back), io.BytesIO(tar), parents=[lower])
    assert r.diff_id == sha256_of(tar)
    st = os.lstat(back / "etc/passwd")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(back / "var/cache", OVERLAY_OPAQUE_XATTR) == b"y"
    assert (back / "var/cache/new").read_text() == "new"
    # And diffing what was applied gives the same layer again.
    assert _tar(diff([lower], str(back))) == tar


def test_round_trip_of_a_plain_tree(upper, tmp_path):
    tar = _tar(diff([], upper))
    back = tmp_path / "back"
    back.mkdir()
    apply_layer(str(back), io.BytesIO(tar))
    assert _tar(diff([], str(back))) == tar
    assert os.stat(back / "bin/app").st_ino == os.stat(back / "bin/app-link").st_ino


def test_chain_id_of_diffed_layers(upper, tmp_path):
    d1 = sha256_of(_tar(diff([], upper)))
    empty = tmp_path / "empty"
    empty.mkdir()
    d2 = sha256_of(_tar(diff([upper], str(empty))))
    assert d2 == sha256_of(b"\0" * 1024)
    want = "sha256:" + hashlib.sha256(f"{d1} {d2}".encode()).hexdigest()
    assert chain_id([d1, d2]) == want
