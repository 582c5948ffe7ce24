"""The overlay snapshotter without root: records, directories and mount options, over
both the SQLite metadata and a small in-memory fake (the same rules from both), and the
mount helpers against the recording syscalls fake."""

import contextlib
import errno
import itertools
import os
import threading
from dataclasses import dataclass, field, replace

import pytest

import berth.snapshots
from berth.errdefs import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from berth.linux import syscalls as sc
from berth.linux.syscalls import RecordingSyscalls
from berth.metadata import Database
from berth.snapshots import Kind, Mount, OverlaySnapshotter, mount_all, parse_options, unmount

FIXED = ("index=off", "redirect_dir=off", "metacopy=off")


# -- an in-memory MetaStore ---------------------------------------------------------------


@dataclass(frozen=True)
class Rec:
    id: int
    key: str
    parent: str | None
    kind: str
    created: float
    updated: float
    labels: dict = field(default_factory=dict)


class FakeTx:
    def __init__(self, rows, ids):
        self.rows = rows
        self.ids = ids

    def get(self, key):
        if key not in self.rows:
            raise NotFound(f"snapshot {key!r}: not found")
        return self.rows[key]

    def list(self):
        return sorted(self.rows.values(), key=lambda r: r.id)

    def create(self, key, parent, kind, labels):
        if parent:
            if parent not in self.rows:
                raise NotFound(f"snapshot {key!r}: parent {parent!r}: not found")
            if self.rows[parent].kind != "committed":
                raise InvalidArgument(f"snapshot {key!r}: parent {parent!r} is not committed")
        if key in self.rows:
            raise AlreadyExists(f"snapshot {key!r}: already exists")
        rec = Rec(next(self.ids), key, parent, kind, 1.0, 1.0, dict(labels))
        self.rows[key] = rec
        return rec

    def commit(self, key, name, labels):
        rec = self.get(key)
        if rec.kind != "active":
            raise FailedPrecondition(f"commit snapshot {key!r}: not active")
        if name in self.rows:
            raise AlreadyExists(f"snapshot {name!r}: already exists")
        del self.rows[key]
        new = replace(rec, key=name, kind="committed", labels={**rec.labels, **labels})
        self.rows[name] = new
        return new

    def remove(self, key):
        rec = self.get(key)
        if any(r.parent == key for r in self.rows.values()):
            raise FailedPrecondition(f"remove snapshot {key!r}: it is a parent")
        del self.rows[key]
        return rec

    def update_labels(self, key, labels):
        rec = replace(self.get(key), labels={k: v for k, v in labels.items() if v})
        self.rows[key] = rec
        return rec


class FakeMeta:
    """Transactions as copy-on-begin, swap-on-commit under one lock."""

    def __init__(self):
        self.rows = {}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def snapshots(self):
        with self.lock:
            work = dict(self.rows)
            yield FakeTx(work, self.ids)
            self.rows = work


@pytest.fixture(params=["sqlite", "fake"])
def meta(request, tmp_path):
    if request.param == "fake":
        yield FakeMeta()
        return
    db = Database(str(tmp_path / "berth.db"))
    yield db
    db.close()


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "berth-test-root")


@pytest.fixture
def sn(root, meta):
    return OverlaySnapshotter(root, meta)


def _fs(root, n):
    return os.path.join(root, "snapshots", str(n), "fs")


def _committed(sn, *names):
    """A chain of committed snapshots, base first."""
    parent = None
    for name in names:
        sn.prepare(f"extract-{name}", parent)
        sn.commit(name, f"extract-{name}")
        parent = name


# -- prepare, view, commit, remove ------------------------------------------------------------


def test_prepare_without_a_parent_is_a_writable_bind_of_an_empty_directory(sn, root):
    mounts = sn.prepare("k1", labels={"purpose": "test"})
    fs = _fs(root, 1)
    assert mounts == [Mount("bind", fs, ("rbind", "rw"))]
    assert os.listdir(fs) == []
    assert os.path.isdir(os.path.join(root, "snapshots", "1", "work"))
    assert os.readlink(os.path.join(root, "l", "1")) == "../snapshots/1/fs"
    info = sn.stat("k1")
    assert (info.name, info.parent, info.kind, info.labels) == (
        "k1",
        None,
        Kind.ACTIVE,
        {"purpose": "test"},
    )
    assert sn.mounts("k1") == mounts
    assert sn.fs_dir("k1") == fs


def test_prepare_over_a_chain_is_an_overlay_with_lowerdirs_top_first(sn, root):
    _committed(sn, "c1", "c2")
    mounts = sn.prepare("ctr", "c2")
    assert mounts == [
        Mount(
            "overlay",
            "overlay",
            (
                *FIXED,
                f"lowerdir={_fs(root, 2)}:{_fs(root, 1)}",
                f"upperdir={_fs(root, 3)}",
                f"workdir={os.path.join(root, 'snapshots', '3', 'work')}",
            ),
        )
    ]
    flags, data = parse_options(mounts[0].options)
    assert flags == 0
    assert data.startswith("index=off,redirect_dir=off,metacopy=off,lowerdir=")
    assert sn.mounts("ctr") == mounts
    assert sn.lower_dirs("ctr") == [_fs(root, 2), _fs(root, 1)]


def test_views_are_read_only(sn, root):
    _committed(sn, "c1", "c2")
    assert sn.view("v0") == [Mount("bind", _fs(root, 3), ("rbind", "ro"))]
    assert sn.view("v1", "c1") == [Mount("bind", _fs(root, 1), ("rbind", "ro"))]
    assert sn.view("v2", "c2") == [
        Mount("overlay", "overlay", ("ro", f"lowerdir={_fs(root, 2)}:{_fs(root, 1)}"))
    ]
    assert not os.path.exists(os.path.join(root, "snapshots", "5", "work"))
    assert sn.stat("v2").kind == Kind.VIEW
    with pytest.raises(FailedPrecondition):
        sn.commit("cv", "v2")


def test_commit_renames_the_snapshot_in_place_and_drops_its_workdir(sn, root):
    sn.prepare("extract-1")
    with open(os.path.join(_fs(root, 1), "hello"), "w") as f:
        f.write("hi")
    sn.commit("sha256:c1", "extract-1", labels={"berth.layer": "1"})
    with pytest.raises(NotFound):
        sn.stat("extract-1")
    info = sn.stat("sha256:c1")
    assert info.kind == Kind.COMMITTED and info.labels == {"berth.layer": "1"}
    assert os.listdir(_fs(root, 1)) == ["hello"]
    assert not os.path.exists(os.path.join(root, "snapshots", "1", "work"))
    with pytest.raises(FailedPrecondition, match="committed"):
        sn.mounts("sha256:c1")


def test_a_parent_must_be_committed_and_exist(sn):
    sn.prepare("active")
    with pytest.raises(InvalidArgument, match="not committed"):
        sn.prepare("child", "active")
    with pytest.raises(NotFound):
        sn.prepare("child", "missing")
    assert [i.name for i in sn.walk()] == ["active"]


def test_a_taken_key_is_already_exists_and_changes_nothing(sn, root):
    sn.prepare("k")
    with pytest.raises(AlreadyExists):
        sn.prepare("k")
    with pytest.raises(AlreadyExists):
        sn.view("k")
    assert sorted(os.listdir(os.path.join(root, "snapshots"))) == ["1"]


def test_committing_onto_an_existing_name_is_already_exists_and_the_key_stays(sn):
    _committed(sn, "c1")
    sn.prepare("again")
    with pytest.raises(AlreadyExists):
        sn.commit("c1", "again")
    assert sn.stat("again").kind == Kind.ACTIVE
    sn.remove("again")


def test_concurrent_commits_of_one_layer_one_wins_the_other_reuses(root, tmp_path, meta):
    if isinstance(meta, Database):  # two daemons' worth: separate connections
        metas = [meta, Database(meta.path)]
    else:
        metas = [meta, meta]
    sns = [OverlaySnapshotter(root, m) for m in metas]
    barrier = threading.Barrier(2)
    outcome = {}

    def pull(i):
        key = f"extract-{i}-sha256:layer"
        sns[i].prepare(key)
        with open(os.path.join(sns[i].fs_dir(key), "file"), "w") as f:
            f.write("same layer")
        barrier.wait()
        try:
            sns[i].commit("sha256:layer", key)
            outcome[i] = "won"
        except AlreadyExists:
            sns[i].remove(key)
            outcome[i] = "reused"

    threads = [threading.Thread(target=pull, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if metas[1] is not meta:
        metas[1].close()
    assert sorted(outcome.values()) == ["reused", "won"]
    infos = list(sns[0].walk())
    assert [(i.name, i.kind) for i in infos] == [("sha256:layer", Kind.COMMITTED)]
    winner = sns[0].fs_dir("sha256:layer")
    assert open(os.path.join(winner, "file")).read() == "same layer"
    assert len(os.listdir(os.path.join(root, "snapshots"))) == 1
    assert len(os.listdir(os.path.join(root, "l"))) == 1


def test_a_committed_snapshot_with_children_cannot_be_removed(sn, root):
    _committed(sn, "c1", "c2")
    sn.prepare("ctr", "c2")
    with pytest.raises(FailedPrecondition, match="parent"):
        sn.remove("c2")
    with pytest.raises(FailedPrecondition):
        sn.remove("c1")
    sn.remove("ctr")
    sn.remove("c2")
    sn.remove("c1")
    assert list(sn.walk()) == []
    assert os.listdir(os.path.join(root, "snapshots")) == []
    assert os.listdir(os.path.join(root, "l")) == []
    with pytest.raises(NotFound):
        sn.remove("c1")


def test_walk_lists_every_snapshot_oldest_first_and_labels_update(sn):
    _committed(sn, "c1")
    sn.prepare("a", "c1")
    sn.view("v", "c1")
    assert [(i.name, i.kind, i.parent) for i in sn.walk()] == [
        ("c1", Kind.COMMITTED, None),
        ("a", Kind.ACTIVE, "c1"),
        ("v", Kind.VIEW, "c1"),
    ]
    assert sn.update_labels("a", {"x": "1", "gone": ""}).labels == {"x": "1"}
    assert sn.stat("a").labels == {"x": "1"}


# -- the page limit -------------------------------------------------------------------------------


def _upper_work(root, n):
    return (
        f"upperdir={_fs(root, n)}",
        f"workdir={os.path.join(root, 'snapshots', str(n), 'work')}",
    )


def test_long_lowerdir_lists_switch_to_the_short_links(sn, root, meta):
    names = [f"c{i}" for i in range(12)]
    _committed(sn, *names)
    links = [os.path.join(root, "l", str(n)) for n in range(12, 0, -1)]
    short = ",".join((*FIXED, "lowerdir=" + ":".join(links), *_upper_work(root, 13)))
    full = ",".join(
        (
            *FIXED,
            "lowerdir=" + ":".join(_fs(root, n) for n in range(12, 0, -1)),
            *_upper_work(root, 13),
        )
    )
    page = len(short) + 1
    assert len(full) >= page  # the test's premise
    small = OverlaySnapshotter(root, meta, page_size=page)
    (m,) = small.prepare("ctr", names[-1])
    assert ",".join(m.options) == short
    for link, n in zip(links, range(12, 0, -1), strict=True):
        assert os.path.realpath(link) == os.path.realpath(_fs(root, n))
    # a page that fits the full paths keeps them
    (m,) = OverlaySnapshotter(root, meta, page_size=len(full) + 1).prepare("ctr2", names[-1])
    assert ",".join(m.options) == full.replace("/13/", "/14/")


def test_too_many_layers_for_one_mount_are_refused_before_anything_is_made(sn, root, meta):
    names = [f"c{i}" for i in range(12)]
    _committed(sn, *names)
    small = OverlaySnapshotter(root, meta, page_size=256)
    with pytest.raises(InvalidArgument, match="12 layers do not fit in one overlay mount"):
        small.prepare("ctr", names[-1])
    with pytest.raises(NotFound):
        sn.stat("ctr")
    assert len(os.listdir(os.path.join(root, "snapshots"))) == 12
    assert len(os.listdir(os.path.join(root, "l"))) == 12


# -- usage and cleanup ---------------------------------------------------------------------------


def test_usage_counts_the_snapshots_own_blocks_and_inodes_hard_links_once(sn, root):
    _committed(sn, "c1")
    sn.prepare("ctr", "c1")
    fs = sn.fs_dir("ctr")
    os.mkdir(os.path.join(fs, "d"))
    with open(os.path.join(fs, "d", "big"), "wb") as f:
        f.write(b"x" * 100_000)
    os.link(os.path.join(fs, "d", "big"), os.path.join(fs, "big-link"))
    os.symlink("d/big", os.path.join(fs, "sym"))
    u = sn.usage("ctr")
    assert u.inodes == 4  # fs, d, big (= big-link), sym
    blocks = sum(os.lstat(os.path.join(fs, p)).st_blocks for p in ("", "d", "d/big", "sym")) * 512
    assert u.size == blocks
    assert u.size >= 100_000
    assert sn.usage("c1").inodes == 1


def test_cleanup_removes_what_no_record_owns(sn, root):
    sn.prepare("k")
    os.makedirs(os.path.join(root, "snapshots", "99", "fs"))
    os.makedirs(os.path.join(root, "snapshots", "rm-7", "fs", "x"))
    os.symlink("../snapshots/99/fs", os.path.join(root, "l", "99"))
    removed = sn.cleanup()
    assert sorted(os.path.basename(p) for p in removed) == ["99", "99", "rm-7"]
    assert os.listdir(os.path.join(root, "snapshots")) == ["1"]
    assert os.listdir(os.path.join(root, "l")) == ["1"]


def test_a_directory_a_crash_left_under_a_new_id_is_replaced(root, meta):
    os.makedirs(os.path.join(root, "snapshots", "1", "fs", "stale"))
    sn = OverlaySnapshotter(root, meta)
    sn.prepare("k")
    assert os.listdir(sn.fs_dir("k")) == []


# -- mounting -----------------------------------------------------------------------------------


def test_parse_options_splits_flags_from_data():
    flags, data = parse_options(["ro", "nosuid", "lowerdir=/a:/b", "upperdir=/u", "rw", "nodev"])
    assert flags == sc.MS_NOSUID | sc.MS_NODEV
    assert data == "lowerdir=/a:/b,upperdir=/u"
    assert parse_options(["rbind", "ro"]) == (sc.MS_BIND | sc.MS_REC | sc.MS_RDONLY, "")


def test_mount_all_mounts_an_overlay_with_its_options_as_data():
    rec = RecordingSyscalls()
    mount_all(
        [
            Mount(
                "overlay", "overlay", ("index=off", "lowerdir=/l2:/l1", "upperdir=/u", "workdir=/w")
            )
        ],
        "/t",
        rec,
    )
    assert rec.calls == [
        (
            "mount",
            "overlay",
            "/t",
            "overlay",
            0,
            "index=off,lowerdir=/l2:/l1,upperdir=/u,workdir=/w",
        )
    ]


def test_a_read_only_bind_is_a_bind_then_a_read_only_remount():
    rec = RecordingSyscalls()
    mount_all([Mount("bind", "/src", ("rbind", "ro"))], "/t", rec)
    bind = sc.MS_BIND | sc.MS_REC
    assert rec.calls == [
        ("mount", "/src", "/t", None, bind, None),
        ("mount", None, "/t", None, bind | sc.MS_RDONLY | sc.MS_REMOUNT, None),
    ]


class FailSecondMount(RecordingSyscalls):
    def mount(self, source, target, fstype, flags, data):
        n = sum(1 for c in self.calls if c[0] == "mount")
        self.calls.append(("mount", source, target, fstype, flags, data))
        if n == 1:
            raise OSError(errno.EINVAL, f"mount {fstype} on {target!r}: invalid argument")


def test_a_failed_mount_takes_the_earlier_ones_off_and_names_the_target():
    rec = FailSecondMount()
    with pytest.raises(InvalidArgument, match=r"mount overlay 'overlay' on '/t': invalid argument"):
        mount_all(
            [Mount("bind", "/a", ("rbind",)), Mount("overlay", "overlay", ("lowerdir=/x",))],
            "/t",
            rec,
        )
    assert rec.calls[-1] == ("umount2", "/t", sc.MNT_DETACH)


class Stack(RecordingSyscalls):
    """umount2 succeeds ``depth`` times, then says EINVAL (nothing mounted)."""

    def __init__(self, depth):
        super().__init__()
        self.depth = depth

    def umount2(self, target, flags):
        self.calls.append(("umount2", target, flags))
        if self.depth == 0:
            raise OSError(errno.EINVAL, "umount: invalid argument")
        self.depth -= 1


def test_unmount_takes_off_every_stacked_mount_and_accepts_nothing_mounted():
    s = Stack(2)
    unmount("/t", s)
    assert s.calls == [("umount2", "/t", 0)] * 3
    s = Stack(0)
    unmount("/t", s, detach=True)
    assert s.calls == [("umount2", "/t", sc.MNT_DETACH)]


def test_unmount_reports_other_errors_naming_the_target():
    with pytest.raises(Exception, match=r"unmount '/t': operation not permitted"):
        unmount("/t", RecordingSyscalls(fail={"umount2": errno.EPERM}))


def test_exports_are_sorted_and_present():
    assert berth.snapshots.__all__ == sorted(berth.snapshots.__all__)
    for name in berth.snapshots.__all__:
        assert hasattr(berth.snapshots, name)
