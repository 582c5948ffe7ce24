"""The order of kernel calls while preparing a root filesystem, checked with the
recording fake (no root needed)."""

import os

import pytest

from berth.linux import syscalls as S
from berth.linux.syscalls import RecordingSyscalls
from berth.oci.default_spec import default_spec
from berth.runtime import rootfs as R


@pytest.fixture
def rootfs(tmp_path):
    r = tmp_path / "rootfs"
    for d in ("proc", "dev", "sys", "tmp"):
        (r / d).mkdir(parents=True)
    return str(r)


def _mounts(rec):
    return [c for c in rec.calls if c[0] == "mount"]


def test_prepare_makes_root_slave_then_binds_rootfs_then_mounts_in_order(rootfs, tmp_path, monkeypatch):
    monkeypatch.setattr(R, "make_devices", lambda *a, **k: None)
    rec = RecordingSyscalls()
    spec = default_spec(["true"], terminal=False, seccomp=False)
    R.prepare(rec, spec, rootfs, str(tmp_path), {"memory": "/sys/fs/cgroup/memory/x"})
    m = _mounts(rec)
    assert m[0] == ("mount", None, "/", None, S.MS_SLAVE | S.MS_REC, None)
    assert m[1] == ("mount", rootfs, rootfs, "bind", S.MS_BIND | S.MS_REC, None)
    targets = [c[2] for c in m[2:]]
    order = [os.path.join(rootfs, d.lstrip("/")) for d in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup")]
    seen = [t for t in targets if t in order]
    assert [order.index(t) for t in dict.fromkeys(seen)] == list(range(len(order)))


def test_rootfs_propagation_private(rootfs, tmp_path, monkeypatch):
    monkeypatch.setattr(R, "make_devices", lambda *a, **k: None)
    rec = RecordingSyscalls()
    spec = default_spec(["true"], terminal=False, seccomp=False)
    spec["mounts"] = []
    spec["linux"]["rootfsPropagation"] = "rprivate"
    R.prepare(rec, spec, rootfs, str(tmp_path))
    assert _mounts(rec)[0][4] == S.MS_PRIVATE | S.MS_REC


def test_bind_mount_with_ro_is_bind_then_remount(rootfs, tmp_path, monkeypatch):
    monkeypatch.setattr(R, "make_devices", lambda *a, **k: None)
    src = tmp_path / "data"
    src.mkdir()
    rec = RecordingSyscalls()
    spec = default_spec(["true"], terminal=False, seccomp=False)
    spec["mounts"] = [{"destination": "/data", "type": "bind", "source": str(src), "options": ["rbind", "ro", "nosuid", "rprivate"]}]
    R.prepare(rec, spec, rootfs, str(tmp_path))
    dest = os.path.join(rootfs, "data")
    m = _mounts(rec)[2:]
    assert m[0] == ("mount", str(src), dest, "bind", S.MS_BIND | S.MS_REC, None)
    assert m[1] == ("mount", None, dest, None, S.MS_BIND | S.MS_REMOUNT | S.MS_RDONLY | S.MS_NOSUID, None)
    assert m[2] == ("mount", None, dest, None, S.MS_PRIVATE | S.MS_REC, None)
    assert os.path.isdir(dest)


def test_pivot_root_then_detach_old_root(rootfs):
    rec = RecordingSyscalls()
    cwd = os.getcwd()
    try:
        R.pivot(rec, rootfs)
    finally:
        os.chdir(cwd)
    names = [c[0] for c in rec.calls]
    assert names == ["pivot_root", "mount", "umount2"]
    assert rec.calls[0][1:] == (".", ".")
    assert rec.calls[1][4] == S.MS_SLAVE | S.MS_REC
    assert rec.calls[2] == ("umount2", ".", S.MNT_DETACH)


def test_finalize_readonly_masked_then_readonly_root(tmp_path, monkeypatch):
    monkeypatch.setattr(R, "_locked_flags", lambda path: 0)
    rec = RecordingSyscalls()
    spec = {"root": {"path": "rootfs", "readonly": True}, "linux": {"readonlyPaths": ["/proc/sys"], "maskedPaths": ["/proc/kcore"]}}
    R.finalize(rec, spec)
    m = _mounts(rec)
    assert m[0] == ("mount", "/proc/sys", "/proc/sys", None, S.MS_BIND | S.MS_REC, None)
    assert m[1][4] == S.MS_BIND | S.MS_REMOUNT | S.MS_RDONLY | S.MS_REC
    assert m[2] == ("mount", "/dev/null", "/proc/kcore", None, S.MS_BIND, None)
    assert m[3] == ("mount", None, "/", None, S.MS_BIND | S.MS_REMOUNT | S.MS_RDONLY, None)


def test_masked_directory_gets_readonly_tmpfs():
    import errno

    class Rec(RecordingSyscalls):
        def mount(self, source, target, fstype, flags, data):
            super().mount(source, target, fstype, flags, data)
            if source == "/dev/null":
                raise OSError(errno.ENOTDIR, "not a directory")

    rec = Rec()
    R.mask_path(rec, "/sys/firmware")
    assert rec.calls[-1] == ("mount", "tmpfs", "/sys/firmware", "tmpfs", S.MS_RDONLY, None)


def test_escaping_destination_is_refused_before_any_mount(rootfs, tmp_path, monkeypatch):
    from berth.errdefs import InvalidArgument

    monkeypatch.setattr(R, "make_devices", lambda *a, **k: None)
    os.symlink("../../../../../etc", os.path.join(rootfs, "escape"))
    rec = RecordingSyscalls()
    spec = default_spec(["true"], terminal=False, seccomp=False)
    spec["mounts"] = [{"destination": "/escape/x", "type": "tmpfs", "source": "tmpfs", "options": []}]
    with pytest.raises(InvalidArgument, match=r"mounts\[0\].destination"):
        R.prepare(rec, spec, rootfs, str(tmp_path))
    assert [c for c in _mounts(rec) if c[3] == "tmpfs"] == []


def test_parse_options():
    o = R.parse_options(["ro", "nosuid", "rw", "size=1m", "rshared", "mode=755"])
    assert o.flags == S.MS_NOSUID
    assert o.data == ["size=1m", "mode=755"]
    assert o.propagation == [S.MS_SHARED | S.MS_REC]


def test_readonly_path_keeps_the_mounts_other_flags(monkeypatch):
    # /proc is nosuid,nodev,noexec: making /proc/sys read-only must not drop those.
    monkeypatch.setattr(R, "_locked_flags", lambda path: S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC)
    rec = RecordingSyscalls()
    R.finalize(rec, {"root": {}, "linux": {"readonlyPaths": ["/proc/sys"]}})
    flags = _mounts(rec)[1][4]
    assert flags == S.MS_BIND | S.MS_REMOUNT | S.MS_RDONLY | S.MS_REC | S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC
