"""The volume service over a temp root and an in-memory database: names, records,
filters, removal refused while in use, prune's anonymous-only rule, option mounts through
a recording syscall fake, copy-up that never follows a symlink."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import pytest

from berth import errdefs
from berth.linux import syscalls as sc
from berth.metadata import Database
from berth.volumes import ANONYMOUS_LABEL, VolumeService, copy_tree, validate_name


class Users:
    def __init__(self) -> None:
        self.by_volume: dict[str, list[str]] = {}

    def volume_users(self, name: str) -> list[str]:
        return list(self.by_volume.get(name, []))


@pytest.fixture
def db() -> Iterator[Database]:
    d = Database(":memory:")
    yield d
    d.close()


@pytest.fixture
def users() -> Users:
    return Users()


@pytest.fixture
def rec() -> sc.RecordingSyscalls:
    return sc.RecordingSyscalls()


@pytest.fixture
def svc(tmp_path, db: Database, users: Users, rec: sc.RecordingSyscalls) -> VolumeService:  # type: ignore[no-untyped-def]
    return VolumeService(str(tmp_path), db, users, rec)


def test_create_makes_data_dir_0755_and_a_record(svc: VolumeService, tmp_path) -> None:  # type: ignore[no-untyped-def]
    v = svc.create("data1", labels={"a": "b"})
    assert v.mountpoint == str(tmp_path / "volumes" / "data1" / "_data")
    assert stat.S_IMODE(os.stat(v.mountpoint).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(tmp_path / "volumes" / "data1").st_mode) == 0o755
    assert v.labels == {"a": "b"} and v.options == {} and v.scope == "local" and not v.anonymous
    assert v.created_at.endswith("Z") and v.created_at[10] == "T"
    assert svc.get("data1") == v


def test_empty_name_is_an_anonymous_64_hex_volume(svc: VolumeService) -> None:
    v = svc.create()
    assert len(v.name) == 64 and all(c in "0123456789abcdef" for c in v.name)
    assert v.anonymous and v.labels == {ANONYMOUS_LABEL: ""}


def test_create_existing_name_returns_it_unchanged(svc: VolumeService) -> None:
    first = svc.create("same", labels={"x": "1"})
    again = svc.create("same", labels={"x": "2"})
    assert again == first
    assert len(svc.list()[0]) == 1


@pytest.mark.parametrize("name", ["x/y", "a", "-lead", "..", "with space", "é1"])
def test_invalid_names_use_dockers_message(svc: VolumeService, name: str) -> None:
    with pytest.raises(errdefs.InvalidArgument) as ei:
        svc.create(name)
    assert ei.value.message == (
        f'"{name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" '
        "are allowed. If you intended to pass a host directory, use absolute path"
    )


def test_valid_names() -> None:
    for name in ("ab", "a.b-c_d", "0x", "A1"):
        validate_name(name)


def test_unknown_driver_is_not_found(svc: VolumeService) -> None:
    with pytest.raises(errdefs.NotFound, match='plugin "nfsplug" not found'):
        svc.create("v1", driver="nfsplug")


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"bogus": "1"}, 'invalid option: "bogus"'),
        ({"device": "tmpfs"}, 'missing required option: "type"'),
        ({"type": "tmpfs"}, 'missing required option: "device"'),
    ],
)
def test_bad_driver_options_are_refused_and_nothing_is_left(
    svc: VolumeService, tmp_path, opts: dict[str, str], message: str  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(errdefs.InvalidArgument) as ei:
        svc.create("opts1", options=opts)
    assert ei.value.message == message
    assert svc.list()[0] == [] and not (tmp_path / "volumes" / "opts1").exists()


def test_get_unknown_says_no_such_volume(svc: VolumeService) -> None:
    with pytest.raises(errdefs.NotFound) as ei:
        svc.get("nope")
    assert ei.value.message == "get nope: no such volume"


def test_list_filters(svc: VolumeService, users: Users) -> None:
    svc.create("web-data", labels={"app": "web", "tier": "front"})
    svc.create("db-data", labels={"app": "db"})
    anon = svc.create().name
    users.by_volume["db-data"] = ["c1"]

    def names(**f: list[str]) -> list[str]:
        return sorted(v.name for v in svc.list({k.replace("_not", "!"): x for k, x in f.items()})[0])

    assert names(name=["web"]) == ["web-data"]
    assert names(name=["^db-"]) == ["db-data"]
    assert names(label=["app"]) == ["db-data", "web-data"]
    assert names(label=["app=web"]) == ["web-data"]
    assert names(label=["app", "tier=front"]) == ["web-data"]
    assert names(label_not=["app=web"]) == sorted(["db-data", anon])
    assert names(dangling=["true"]) == sorted(["web-data", anon])
    assert names(dangling=["0"]) == ["db-data"]
    assert names(driver=["local"]) == sorted(["db-data", "web-data", anon])
    assert names(driver=["other"]) == []


def test_list_refuses_unknown_filters_and_bad_dangling(svc: VolumeService) -> None:
    with pytest.raises(errdefs.InvalidArgument, match="invalid filter 'colour'"):
        svc.list({"colour": ["red"]})
    with pytest.raises(errdefs.InvalidArgument, match=r"invalid filter 'dangling=\[maybe\]'"):
        svc.list({"dangling": ["maybe"]})


def test_remove_refused_while_in_use_even_forced(svc: VolumeService, users: Users) -> None:
    svc.create("busy")
    users.by_volume["busy"] = ["aaa", "bbb"]
    for force in (False, True):
        with pytest.raises(errdefs.Conflict) as ei:
            svc.remove("busy", force=force)
        assert ei.value.message == "remove busy: volume is in use - [aaa, bbb]"
    users.by_volume.clear()
    path = svc.get("busy").mountpoint
    svc.remove("busy")
    assert not os.path.exists(os.path.dirname(path))
    with pytest.raises(errdefs.NotFound, match="get busy: no such volume"):
        svc.remove("busy")
    svc.remove("busy", force=True)  # a missing volume is fine when forced


def test_prune_removes_only_unused_anonymous_unless_all(svc: VolumeService, users: Users) -> None:
    svc.create("named1")
    a1 = svc.create()
    a2 = svc.create()
    users.by_volume[a2.name] = ["c1"]
    with open(os.path.join(a1.mountpoint, "f"), "wb") as f:
        f.write(b"x" * 1234)
    names, size = svc.prune()
    assert names == [a1.name] and size == 1234
    names, size = svc.prune({"all": ["true"]})
    assert names == ["named1"] and size == 0
    assert sorted(v.name for v in svc.list()[0]) == [a2.name]


def test_prune_label_filters(svc: VolumeService) -> None:
    svc.create("keep1", labels={"keep": "yes"})
    svc.create("drop1", labels={"keep": "no"})
    names, _ = svc.prune({"all": ["1"], "label!": ["keep=yes"]})
    assert names == ["drop1"]
    with pytest.raises(errdefs.InvalidArgument, match="invalid filter 'dangling'"):
        svc.prune({"dangling": ["true"]})


def test_usage_counts_hard_links_once_and_ignores_symlink_targets(svc: VolumeService, tmp_path) -> None:  # type: ignore[no-untyped-def]
    v = svc.create("sized")
    big = tmp_path / "outside"
    big.write_bytes(b"y" * 5000)
    p = os.path.join(v.mountpoint, "a")
    with open(p, "wb") as f:
        f.write(b"z" * 100)
    os.link(p, os.path.join(v.mountpoint, "b"))
    os.mkdir(os.path.join(v.mountpoint, "d"))
    os.symlink(str(big), os.path.join(v.mountpoint, "d", "l"))
    assert svc.usage("sized") == 100 + len(str(big))


def test_plain_volume_mount_is_the_data_dir_and_counts_as_use(svc: VolumeService, rec: sc.RecordingSyscalls) -> None:
    v = svc.create("plain")
    assert svc.mount("plain", "c1") == v.mountpoint
    assert rec.calls == []
    with pytest.raises(errdefs.Conflict, match=r"in use - \[c1\]"):
        svc.remove("plain")
    svc.unmount("plain", "c1")
    svc.remove("plain")


def test_tmpfs_volume_mounts_on_first_user_and_unmounts_after_last(
    svc: VolumeService, rec: sc.RecordingSyscalls
) -> None:
    v = svc.create("scratch", options={"type": "tmpfs", "device": "tmpfs", "o": "size=64m,uid=1000,noexec"})
    svc.mount("scratch", "c1")
    svc.mount("scratch", "c1")
    svc.mount("scratch", "c2")
    assert rec.calls == [("mount", "tmpfs", v.mountpoint, "tmpfs", sc.MS_NOEXEC, "size=64m,uid=1000")]
    svc.unmount("scratch", "c1")
    assert len(rec.calls) == 1
    svc.unmount("scratch", "c2")
    assert rec.calls[1] == ("umount2", v.mountpoint, 0)
    svc.unmount("scratch", "c2")  # no reference left: nothing happens
    assert len(rec.calls) == 2


def test_bind_volume_read_only_is_a_bind_then_a_remount(svc: VolumeService, rec: sc.RecordingSyscalls) -> None:
    v = svc.create("bound", options={"type": "none", "device": "/srv/x", "o": "bind,ro"})
    svc.mount("bound", "c1")
    assert rec.calls == [
        ("mount", "/srv/x", v.mountpoint, None, sc.MS_BIND, None),
        ("mount", None, v.mountpoint, None, sc.MS_BIND | sc.MS_RDONLY | sc.MS_REMOUNT, None),
    ]


def test_failed_mount_holds_no_reference(tmp_path, db: Database) -> None:  # type: ignore[no-untyped-def]
    import errno

    svc = VolumeService(str(tmp_path), db, None, sc.RecordingSyscalls(fail={"mount": errno.ENODEV}))
    svc.create("nodev", options={"type": "weirdfs", "device": "x"})
    with pytest.raises(errdefs.BerthError, match="weirdfs"):
        svc.mount("nodev", "c1")
    svc.remove("nodev")


def test_copy_up_copies_tree_modes_and_links_without_following(svc: VolumeService, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "img"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_bytes(b"hello")
    os.chmod(src / "sub" / "f", 0o640)
    os.chmod(src / "sub", 0o700)
    os.chmod(src, 0o750)
    secret = tmp_path / "secret"
    secret.write_bytes(b"do not copy")
    os.symlink(str(secret), src / "escape")
    os.symlink("/", src / "rootlink")
    os.link(src / "sub" / "f", src / "hard")
    os.setxattr(src / "sub" / "f", "user.k", b"v")
    v = svc.create("seeded")
    assert svc.copy_up("seeded", str(src))
    dst = v.mountpoint
    assert open(os.path.join(dst, "sub", "f"), "rb").read() == b"hello"
    assert stat.S_IMODE(os.stat(os.path.join(dst, "sub", "f")).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(os.path.join(dst, "sub")).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(dst).st_mode) == 0o750
    assert os.readlink(os.path.join(dst, "escape")) == str(secret)
    assert os.path.islink(os.path.join(dst, "rootlink"))
    assert os.stat(os.path.join(dst, "hard")).st_ino == os.stat(os.path.join(dst, "sub", "f")).st_ino
    assert os.getxattr(os.path.join(dst, "sub", "f"), "user.k") == b"v"
    # a volume with content is left alone
    (src / "new").write_bytes(b"later")
    assert not svc.copy_up("seeded", str(src))
    assert not os.path.exists(os.path.join(dst, "new"))


def test_copy_up_from_a_symlinked_source_dir_does_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    real = tmp_path / "real"
    real.mkdir()
    (real / "f").write_bytes(b"x")
    os.symlink(str(real), tmp_path / "link")
    dst = tmp_path / "dst"
    dst.mkdir()
    assert not copy_tree(str(tmp_path / "link"), str(dst))
    assert not copy_tree(str(tmp_path / "missing"), str(dst))
    assert os.listdir(dst) == []


def test_mounts_under_reads_mountinfo_deepest_first_with_escapes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from berth.volumes.local import mounts_under

    base = os.path.realpath(tmp_path)
    info = tmp_path / "mountinfo"
    info.write_text(
        f"36 35 98:0 / / rw - ext4 /dev/root rw\n"
        f"40 36 0:5 / {base}/v/_data rw - tmpfs tmpfs rw\n"
        f"41 40 0:6 / {base}/v/_data/a\\040b rw - tmpfs tmpfs rw\n"
        f"42 36 0:7 / {base}/vv rw - tmpfs tmpfs rw\n"
    )
    assert mounts_under(str(tmp_path / "v"), str(info)) == [f"{base}/v/_data/a b", f"{base}/v/_data"]
