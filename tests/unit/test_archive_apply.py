"""Applying layer tars: content and metadata, whiteouts in overlay form, compression,
and every way an evil layer might try to reach outside its directory."""

import io
import os
import stat
import tarfile

import pytest

from berth import errdefs
from berth.archive import ApplyResult, DiffIDMismatch, apply_layer
from berth.archive.whiteout import OVERLAY_OPAQUE_XATTR
from berth.errdefs import InvalidArgument
from berth.oci.digest import sha256_of

from .archive_helpers import E, d, f, hard, stream, sym, tar_bytes


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    r.mkdir()
    return str(r)


@pytest.fixture
def outside(tmp_path):
    """A directory beside the root that no layer may touch."""
    o = tmp_path / "outside"
    o.mkdir()
    (o / "secret").write_text("untouched")
    return str(o)


def _snapshot(path):
    out = {}
    for dirpath, dirs, files in os.walk(path):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, path)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def _apply(root, *entries, **kw) -> ApplyResult:
    return apply_layer(root, stream(*entries), **kw)


# -- content and metadata --------------------------------------------------------------


def test_files_dirs_symlinks_and_modes(root):
    r = _apply(
        root,
        d("etc"),
        f("etc/hostname", b"box\n"),
        f("bin/su", b"ELF", mode=0o4755),
        d("tmp", mode=0o1777),
        sym("etc/localtime", "/usr/share/zoneinfo/UTC"),
        E("run/fifo", tarfile.FIFOTYPE, mode=0o600),
    )
    assert open(os.path.join(root, "etc/hostname"), "rb").read() == b"box\n"
    assert stat.S_IMODE(os.stat(os.path.join(root, "bin/su")).st_mode) == 0o4755
    assert stat.S_IMODE(os.stat(os.path.join(root, "tmp")).st_mode) == 0o1777
    assert os.readlink(os.path.join(root, "etc/localtime")) == "/usr/share/zoneinfo/UTC"
    assert stat.S_ISFIFO(os.lstat(os.path.join(root, "run/fifo")).st_mode)
    assert r.skipped == []


def test_mtimes_are_kept_to_the_nanosecond_and_set_on_directories_last(root):
    _apply(
        root,
        d("dir", mtime=1_600_000_000),
        f("dir/file", b"x", mtime=1_500_000_000, pax={"mtime": "1500000000.123456789"}),
        sym("dir/link", "file", mtime=1_400_000_000),
    )
    assert os.stat(os.path.join(root, "dir")).st_mtime_ns == 1_600_000_000 * 10**9
    assert os.stat(os.path.join(root, "dir/file")).st_mtime_ns == 1_500_000_000_123_456_789
    assert os.lstat(os.path.join(root, "dir/link")).st_mtime_ns == 1_400_000_000 * 10**9


def test_hardlinks_share_an_inode(root):
    _apply(root, f("a", b"same"), hard("b", "a"), d("sub"), hard("sub/c", "./a"))
    ino = os.stat(os.path.join(root, "a")).st_ino
    assert os.stat(os.path.join(root, "b")).st_ino == ino
    assert os.stat(os.path.join(root, "sub/c")).st_ino == ino


def test_replacing_entries(root):
    _apply(root, d("x"), f("x/inner", b"1"), f("y", b"file"), d("z"), f("z/keep", b"k"))
    _apply(root, f("x", b"now a file"), d("y"), d("z", mode=0o700), f("z/new", b"n"))
    assert open(os.path.join(root, "x"), "rb").read() == b"now a file"
    assert os.path.isdir(os.path.join(root, "y"))
    assert sorted(os.listdir(os.path.join(root, "z"))) == ["keep", "new"]  # merged
    assert stat.S_IMODE(os.stat(os.path.join(root, "z")).st_mode) == 0o700


def test_a_root_entry_sets_the_roots_metadata(root):
    _apply(root, d("./", mode=0o711), f("./a", b"1"))
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o711
    with pytest.raises(InvalidArgument, match="layer root must be a directory"):
        _apply(root, f("./", b""))


def test_user_xattrs_are_kept_and_overlay_ones_dropped(root):
    r = _apply(
        root,
        f("a", b"", pax={"SCHILY.xattr.user.comment": "hello", "SCHILY.xattr.trusted.overlay.opaque": "y"}),
        d("dir", pax={"SCHILY.xattr.trusted.overlay.redirect": "/etc"}),
    )
    assert os.getxattr(os.path.join(root, "a"), "user.comment") == b"hello"
    assert "trusted.overlay.opaque" not in os.listxattr(os.path.join(root, "a"))
    assert "trusted.overlay.redirect" not in os.listxattr(os.path.join(root, "dir"))
    assert any("trusted.overlay.opaque" in s for s in r.skipped)


@pytest.mark.root
def test_ownership_and_file_capabilities(root):
    cap = bytes.fromhex("0100000200200000000000000000000000000000")  # cap_net_raw+ep (v2)
    _apply(
        root,
        d("home/u", uid=1000, gid=1000),
        f("home/u/f", b"x", uid=1000, gid=100),
        f("bin/ping", b"ELF", mode=0o755, pax={"SCHILY.xattr.security.capability": cap.decode("utf-8", "surrogateescape")}),
        sym("home/u/l", "f", uid=1000, gid=1000),
    )
    st = os.stat(os.path.join(root, "home/u/f"))
    assert (st.st_uid, st.st_gid) == (1000, 100)
    assert os.lstat(os.path.join(root, "home/u/l")).st_uid == 1000
    assert os.stat(os.path.join(root, "home/u")).st_uid == 1000
    assert os.getxattr(os.path.join(root, "bin/ping"), "security.capability") == cap


@pytest.mark.root
def test_device_nodes_only_for_trusted_images(root, tmp_path):
    null = E("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)
    sda = E("dev/sda", tarfile.BLKTYPE, mode=0o660, devmajor=8, devminor=0)
    r = _apply(root, null, sda)
    assert not os.path.lexists(os.path.join(root, "dev/null"))
    assert not os.path.lexists(os.path.join(root, "dev/sda"))
    assert sorted(r.skipped) == ["dev/null: device node in an untrusted image",
                                 "dev/sda: device node in an untrusted image"]  # fmt: skip
    trusted_root = tmp_path / "trusted"
    trusted_root.mkdir()
    _apply(str(trusted_root), null, sda, trusted=True)
    st = os.lstat(trusted_root / "dev/null")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert stat.S_IMODE(st.st_mode) == 0o666
    assert stat.S_ISBLK(os.lstat(trusted_root / "dev/sda").st_mode)


# -- whiteouts -------------------------------------------------------------------------


@pytest.mark.root
def test_whiteout_becomes_a_0_0_character_device(root):
    _apply(root, d("etc"), f("etc/.wh.passwd", uid=0, gid=0), f(".wh.gone"))
    for p in ("etc/passwd", "gone"):
        st = os.lstat(os.path.join(root, p))
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, p
    assert not os.path.lexists(os.path.join(root, "etc/.wh.passwd"))


@pytest.mark.root
def test_whiteout_replaces_what_the_layer_had_there(root):
    _apply(root, d("dir"), f("dir/f", b"x"), f(".wh.dir"))
    st = os.lstat(os.path.join(root, "dir"))
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


@pytest.mark.root
def test_opaque_marker_becomes_the_overlay_xattr(root):
    _apply(root, d("var/cache"), f("var/cache/.wh..wh..opq"), f("var/cache/new", b"n"))
    cache = os.path.join(root, "var/cache")
    assert os.getxattr(cache, OVERLAY_OPAQUE_XATTR) == b"y"
    assert os.listdir(cache) == ["new"]


@pytest.mark.root
def test_an_opaque_marker_at_the_top_makes_the_layer_root_opaque(root):
    _apply(root, f("./.wh..wh..opq"), f("new", b"n"))
    assert os.getxattr(root, OVERLAY_OPAQUE_XATTR) == b"y"


@pytest.mark.root
def test_adding_into_a_deleted_directory_makes_it_opaque(root):
    _apply(root, f(".wh.etc"), d("etc"), f("etc/new", b"n"))
    assert os.getxattr(os.path.join(root, "etc"), OVERLAY_OPAQUE_XATTR) == b"y"


def test_aufs_metadata_is_skipped(root):
    r = _apply(root, d(".wh..wh.plnk"), f(".wh..wh.plnk/123.456", b""))
    assert os.listdir(root) == []
    assert r.skipped


@pytest.mark.parametrize("name", [".wh.", ".wh..", "a/.wh.."])
def test_invalid_whiteout_names(root, name):
    with pytest.raises(InvalidArgument):
        _apply(root, f(name))


# -- lower layers ----------------------------------------------------------------------


def test_parents_are_resolved_through_lower_layers(tmp_path, root):
    lower = tmp_path / "lower"
    (lower / "usr/lib").mkdir(parents=True)
    os.chmod(lower / "usr", 0o750)
    os.utime(lower / "usr", (1_000_000_000, 1_000_000_000))
    os.symlink("usr/lib", lower / "lib")
    _apply(root, f("lib/x.so", b"so"), parents=[str(lower)])
    # The file went where the merged view's lib points, not into a new lib/ directory
    # that would hide the lower layer's symlink.
    assert open(os.path.join(root, "usr/lib/x.so"), "rb").read() == b"so"
    assert not os.path.lexists(os.path.join(root, "lib"))
    # The directories made on the way copy the lower layer's metadata.
    st = os.stat(os.path.join(root, "usr"))
    assert stat.S_IMODE(st.st_mode) == 0o750
    assert st.st_mtime == 1_000_000_000


@pytest.mark.root
def test_a_lower_whiteout_hides_a_lower_symlink(tmp_path, root):
    bottom, middle = tmp_path / "bottom", tmp_path / "middle"
    (bottom / "usr/lib").mkdir(parents=True)
    os.symlink("usr/lib", bottom / "lib")
    middle.mkdir()
    os.mknod(middle / "lib", stat.S_IFCHR, os.makedev(0, 0))  # middle deleted /lib
    _apply(root, f("lib/x", b"x"), parents=[str(middle), str(bottom)])
    assert os.path.isdir(os.path.join(root, "lib"))
    assert not os.path.exists(os.path.join(root, "usr"))


@pytest.mark.root
def test_a_lower_opaque_directory_hides_what_is_below_it(tmp_path, root):
    bottom, middle = tmp_path / "bottom", tmp_path / "middle"
    (bottom / "d").mkdir(parents=True)
    os.symlink("/elsewhere", bottom / "d/link")
    (middle / "d").mkdir(parents=True)
    os.setxattr(middle / "d", OVERLAY_OPAQUE_XATTR, b"y")
    _apply(root, f("d/link/x", b"x"), parents=[str(middle), str(bottom)])
    assert open(os.path.join(root, "d/link/x"), "rb").read() == b"x"
    assert not os.path.exists(os.path.join(root, "elsewhere"))


# -- path safety -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "./../evil", "a/b/../../../evil", "/../evil"])
def test_dotdot_cannot_leave_the_root(root, outside, name):
    before = _snapshot(os.path.dirname(root))
    with pytest.raises(InvalidArgument, match="escapes the layer root"):
        _apply(root, f(name, b"pwned"))
    assert not os.path.exists(os.path.join(os.path.dirname(root), "evil"))
    assert _snapshot(os.path.dirname(root)) == before


def test_absolute_names_stay_inside_the_root(root, outside):
    _apply(root, f(f"{outside}/secret", b"pwned"), f("/etc/passwd", b"root:x:0:0"))
    assert open(os.path.join(outside, "secret")).read() == "untouched"
    assert open(os.path.join(root, outside.lstrip("/"), "secret"), "rb").read() == b"pwned"
    assert open(os.path.join(root, "etc/passwd"), "rb").read() == b"root:x:0:0"


def test_a_symlink_entry_then_a_file_through_it_relative_escape(root, outside):
    with pytest.raises(InvalidArgument, match="escapes the layer root"):
        _apply(root, sym("link", "../outside"), f("link/secret", b"pwned"))
    assert open(os.path.join(outside, "secret")).read() == "untouched"


def test_a_symlink_entry_then_a_file_through_it_absolute_stays_inside(root, outside):
    _apply(root, sym("link", outside), f("link/secret", b"pwned"))
    assert open(os.path.join(outside, "secret")).read() == "untouched"
    assert open(os.path.join(root, outside.lstrip("/"), "secret"), "rb").read() == b"pwned"


def test_symlink_chains_and_loops(root, outside):
    with pytest.raises(InvalidArgument, match="escapes"):
        _apply(root, d("a"), sym("a/b", "../c"), sym("c", "../../outside"), f("a/b/secret", b"x"))
    with pytest.raises(InvalidArgument, match="too many levels"):
        _apply(root, sym("l1", "l2"), sym("l2", "l1"), f("l1/x", b"x"))
    assert open(os.path.join(outside, "secret")).read() == "untouched"


def test_a_symlinked_parent_in_a_lower_layer_cannot_lead_out(tmp_path, root, outside):
    lower = tmp_path / "lower"
    lower.mkdir()
    os.symlink("../../outside", lower / "up")
    with pytest.raises(InvalidArgument, match="escapes"):
        _apply(root, f("up/secret", b"pwned"), parents=[str(lower)])
    assert open(os.path.join(outside, "secret")).read() == "untouched"


def test_an_existing_symlink_at_the_name_is_replaced_not_followed(root, outside):
    os.symlink(os.path.join(outside, "secret"), os.path.join(root, "target"))
    os.symlink(outside, os.path.join(root, "dirlink"))
    _apply(root, f("target", b"pwned"), d("dirlink", mode=0o700))
    assert open(os.path.join(outside, "secret")).read() == "untouched"
    assert not os.path.islink(os.path.join(root, "target"))
    assert os.path.isdir(os.path.join(root, "dirlink")) and not os.path.islink(os.path.join(root, "dirlink"))
    assert os.listdir(outside) == ["secret"]


def test_metadata_never_follows_a_symlink_out(root, outside):
    os.chmod(os.path.join(outside, "secret"), 0o600)
    r = _apply(root, sym("s", os.path.join(outside, "secret"), pax={"SCHILY.xattr.user.x": "1"}))
    assert stat.S_IMODE(os.stat(os.path.join(outside, "secret")).st_mode) == 0o600
    assert "user.x" not in os.listxattr(os.path.join(outside, "secret"))
    assert any(s.startswith("s: xattr user.x") for s in r.skipped)  # Linux refuses user.* on links


@pytest.mark.parametrize("target", ["../outside/secret", "a/../../outside/secret"])
def test_hardlinks_cannot_point_outside(root, outside, target):
    with pytest.raises(InvalidArgument, match="escapes"):
        _apply(root, d("a"), hard("stolen", target))
    assert os.stat(os.path.join(outside, "secret")).st_nlink == 1


def test_hardlink_through_a_symlinked_parent_cannot_point_outside(root, outside):
    with pytest.raises(InvalidArgument, match="escapes"):
        _apply(root, sym("o", "../outside"), hard("stolen", "o/secret"))
    assert os.stat(os.path.join(outside, "secret")).st_nlink == 1


def test_hardlink_with_an_absolute_target_means_inside_the_root(root, outside):
    with pytest.raises(InvalidArgument, match="not in this layer"):
        _apply(root, hard("stolen", os.path.join(outside, "secret")))
    assert os.stat(os.path.join(outside, "secret")).st_nlink == 1


def test_hardlink_to_a_symlink_links_the_symlink_itself(root, outside):
    _apply(root, sym("s", os.path.join(outside, "secret")), hard("h", "s"))
    assert os.path.islink(os.path.join(root, "h"))
    assert os.stat(os.path.join(outside, "secret")).st_nlink == 1


def test_hardlink_to_a_directory_or_a_lower_layer_is_refused(tmp_path, root):
    lower = tmp_path / "lower"
    lower.mkdir()
    (lower / "f").write_text("lower")
    with pytest.raises(InvalidArgument, match="not a file"):
        _apply(root, d("dir"), hard("h", "dir"))
    with pytest.raises(InvalidArgument, match="not in this layer"):
        _apply(root, hard("h2", "f"), parents=[str(lower)])


def test_whiteout_through_an_escaping_symlink_is_refused(root, outside):
    with pytest.raises(InvalidArgument, match="escapes"):
        _apply(root, sym("o", "../outside"), f("o/.wh.secret"))
    with pytest.raises(InvalidArgument, match="escapes"):
        _apply(root, sym("p", "../outside"), f("p/.wh..wh..opq"))
    assert open(os.path.join(outside, "secret")).read() == "untouched"


def test_a_file_as_a_parent_is_not_a_directory(root):
    with pytest.raises(InvalidArgument, match="is not a directory"):
        _apply(root, f("file", b"x"), f("file/child", b"y"))


# -- compression and digests -----------------------------------------------------------

ENTRIES = (d("a"), f("a/b", b"hello" * 100), sym("c", "a/b"))


@pytest.mark.parametrize("compression", ["", "gzip", "zstd"])
def test_compressions_apply_alike_and_report_the_diff_id(tmp_path, compression):
    target = tmp_path / compression if compression else tmp_path / "plain"
    target.mkdir()
    plain = tar_bytes(*ENTRIES)
    r = apply_layer(str(target), stream(*ENTRIES, compression=compression))
    assert r.diff_id == sha256_of(plain)
    assert r.size == len(plain)
    assert r.compression == compression
    assert open(target / "a/b", "rb").read() == b"hello" * 100


def test_expected_diff_id_mismatch(root):
    with pytest.raises(DiffIDMismatch, match="the image config says"):
        apply_layer(root, stream(*ENTRIES), expected_diff_id=sha256_of(b"other"))
    r = apply_layer(root, stream(*ENTRIES), expected_diff_id=sha256_of(tar_bytes(*ENTRIES)))
    assert r.diff_id == sha256_of(tar_bytes(*ENTRIES))


def test_empty_layers(root):
    assert apply_layer(root, io.BytesIO(b"")).diff_id == sha256_of(b"")
    assert apply_layer(root, io.BytesIO(b"\0" * 1024)).size == 1024
    assert os.listdir(root) == []


@pytest.mark.parametrize(
    "data",
    [
        b"this is not a tar archive at all" * 20,
        tar_bytes(*ENTRIES, compression="gzip")[:-30],
        tar_bytes(f("big", b"x" * 4096))[:1024],
        b"\x1f\x8b\x08\x00garbage",
        b"\x28\xb5\x2f\xfdgarbage",
    ],
    ids=["garbage", "truncated-gzip", "truncated-tar", "bad-gzip", "bad-zstd"],
)
def test_corrupt_layers_are_invalid_argument(root, data):
    with pytest.raises(InvalidArgument, match="invalid layer archive"):
        apply_layer(root, io.BytesIO(data))


def test_zstd_without_the_package_is_not_implemented(root, monkeypatch):
    import sys

    data = stream(*ENTRIES, compression="zstd")
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(errdefs.NotImplemented, match="zstandard"):
        apply_layer(root, data)


def test_root_must_be_a_directory(tmp_path):
    with pytest.raises(InvalidArgument, match="is not a directory"):
        apply_layer(str(tmp_path / "missing"), stream(*ENTRIES))


def test_exports_match_all():
    import berth.archive

    assert berth.archive.__all__ == sorted(berth.archive.__all__)
    for name in berth.archive.__all__:
        assert callable(getattr(berth.archive, name))
