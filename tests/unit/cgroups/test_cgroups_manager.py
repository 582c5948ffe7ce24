"""Manager on fake hosts: create, add, apply, freeze, pids, stats, destroy."""

from __future__ import annotations

from pathlib import Path

import pytest
from cgroups_fake import FakeHost, read

from berth import cgroups
from berth.errdefs import InvalidArgument, NotFound


def setup_of(host: FakeHost) -> cgroups.Setup:
    return cgroups.detect(str(host.root), str(host.mountinfo))


def test_paths_cover_every_hierarchy(fake_hybrid: FakeHost) -> None:
    m = cgroups.Manager.load(setup_of(fake_hybrid), "/berth/abc")
    root = fake_hybrid.root
    assert m.path == "/berth/abc"
    assert m.paths["cpu"] == m.paths["cpuacct"] == f"{root}/cpu,cpuacct/berth/abc"
    assert m.paths["name=systemd"] == f"{root}/systemd/berth/abc"
    assert m.paths["unified"] == f"{root}/unified/berth/abc"
    assert m.v2_controllers == frozenset()  # hugetlb is mounted as v1 on this fake host


def test_v1_create_applies_limits_and_destroy_removes_everything(fake_v1: FakeHost) -> None:
    fake_v1.populate("/berth/abc")
    root = fake_v1.root
    m = cgroups.Manager.create(
        setup_of(fake_v1),
        "/berth/abc",
        {
            "memory": {"limit": 1 << 26},
            "pids": {"limit": 10},
            "cpu": {"quota": 50000, "period": 100000},
        },
    )
    assert read(root / "memory/berth/abc", "memory.limit_in_bytes") == str(1 << 26)
    assert read(root / "pids/berth/abc", "pids.max") == "10"
    assert read(root / "cpu,cpuacct/berth/abc", "cpu.cfs_quota_us") == "50000"
    assert read(root / "cpuset/berth/abc", "cpuset.cpus") == "0-3"  # inherited
    assert read(root / "cpuset/berth", "cpuset.mems") == "0"
    m.destroy()
    for mount in ("memory", "pids", "cpu,cpuacct", "cpuset", "systemd", "devices"):
        assert not (root / mount / "berth/abc").exists()
        assert (root / mount / "berth").exists()  # parents are shared, left in place
    m.destroy()  # again: nothing left is fine


def test_create_removes_what_it_made_when_apply_fails(fake_v1: FakeHost) -> None:
    root = fake_v1.root
    # Not populated: the new groups have no control files, so cpuset inheritance fails.
    with pytest.raises(NotFound, match=r"cpuset.cpus"):
        cgroups.Manager.create(setup_of(fake_v1), "/berth/abc", {})
    for mount in ("memory", "pids", "cpu,cpuacct", "cpuset", "systemd"):
        assert not (root / mount / "berth").exists()


def test_create_refuses_bad_values_before_touching_anything(fake_v1: FakeHost) -> None:
    with pytest.raises(InvalidArgument, match=r"linux.resources.cpu.quota: 10 "):
        cgroups.Manager.create(setup_of(fake_v1), "/berth/abc", {"cpu": {"quota": 10}})
    assert not (fake_v1.root / "memory/berth").exists()


def test_v2_create_enables_controllers_in_ancestors(fake_v2: FakeHost) -> None:
    fake_v2.populate("/berth/abc")
    root = fake_v2.root
    m = cgroups.Manager.create(
        setup_of(fake_v2),
        "/berth/abc",
        {
            "memory": {"limit": 4096, "swap": 8192},
            "cpu": {"shares": 1024},
            "pids": {"limit": 3},
            "unified": {"memory.low": "100"},
        },
    )
    assert read(root, "cgroup.subtree_control") == "+cpuset +cpu +io +memory +hugetlb +pids"
    assert (
        read(root / "berth", "cgroup.subtree_control") == "+cpuset +cpu +io +memory +hugetlb +pids"
    )
    assert read(root / "berth/abc", "cgroup.subtree_control") == "\n"  # the leaf holds processes
    leaf = root / "berth/abc"
    assert read(leaf, "memory.max") == "4096"
    assert read(leaf, "memory.swap.max") == "4096"
    assert read(leaf, "cpu.weight") == "39"
    assert read(leaf, "pids.max") == "3"
    assert read(leaf, "memory.low") == "100"
    assert m.paths == {"unified": str(leaf)}
    m.destroy()
    assert not leaf.exists()


def test_v2_create_skips_controllers_already_enabled(fake_v2: FakeHost) -> None:
    fake_v2.populate("/c1")
    (fake_v2.root / "cgroup.subtree_control").write_text("cpuset cpu io memory hugetlb pids\n")
    cgroups.Manager.create(setup_of(fake_v2), "/c1", None)
    assert read(fake_v2.root, "cgroup.subtree_control") == "cpuset cpu io memory hugetlb pids\n"


def test_v2_skips_limits_of_unavailable_controllers(fake_v2: FakeHost) -> None:
    fake_v2.populate("/c1")
    (fake_v2.root / "cgroup.controllers").write_text("memory\n")
    m = cgroups.Manager.create(
        setup_of(fake_v2), "/c1", {"pids": {"limit": 3}, "memory": {"limit": 4096}}
    )
    assert read(fake_v2.root / "c1", "pids.max") == "max\n"
    assert read(fake_v2.root / "c1", "memory.max") == "4096"
    assert read(fake_v2.root, "cgroup.subtree_control") == "+memory"
    m.destroy()


def test_hybrid_limits_hugetlb_through_the_unified_hierarchy(tmp_path: Path) -> None:
    host = FakeHost(tmp_path / "cgroup", "hybrid")
    # This host (like Debian's) has no v1 hugetlb mount: only the unified one offers it.
    lines = [ln for ln in host.mountinfo.read_text().splitlines() if not ln.endswith(",hugetlb")]
    host.mountinfo.write_text("\n".join(lines) + "\n")
    host.populate("/c1")
    setup = setup_of(host)
    assert setup.mode == "hybrid" and "hugetlb" not in setup.v1
    m = cgroups.Manager.create(
        setup,
        "/c1",
        {"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}], "pids": {"limit": 5}},
    )
    assert m.v2_controllers == frozenset({"hugetlb"})
    assert read(host.root / "unified", "cgroup.subtree_control") == "+hugetlb"
    assert read(host.root / "unified/c1", "hugetlb.2MB.max") == "2097152"
    assert read(host.root / "pids/c1", "pids.max") == "5"
    assert read(host.root / "unified/c1", "pids.max") == "max\n"


def test_hybrid_devices_go_to_v1(fake_hybrid: FakeHost) -> None:
    fake_hybrid.populate("/c1")
    cgroups.Manager.create(
        setup_of(fake_hybrid),
        "/c1",
        {"devices": [{"allow": True, "type": "c", "major": 1, "minor": 3}]},
    )
    assert read(fake_hybrid.root / "devices/c1", "devices.allow") == "c 1:3 rwm"


def test_add_writes_the_pid_in_every_hierarchy_once(
    fake_hybrid: FakeHost, writes: list[tuple[str, str, str]]
) -> None:
    fake_hybrid.populate("/c1")
    m = cgroups.Manager.load(setup_of(fake_hybrid), "/c1")
    m.add(4242)
    procs = [(d, v) for d, n, v in writes if n == "cgroup.procs"]
    assert len(procs) == len(set(m.paths.values()))  # cpu,cpuacct once
    assert read(fake_hybrid.root / "unified/c1", "cgroup.procs") == "4242"
    assert read(fake_hybrid.root / "systemd/c1", "cgroup.procs") == "4242"


def test_pids_are_read_recursively_from_the_freezer(fake_v1: FakeHost) -> None:
    fake_v1.populate("/c1")
    fake_v1.populate("/c1/sub")
    (fake_v1.root / "freezer/c1/cgroup.procs").write_text("10\n11\n")
    (fake_v1.root / "freezer/c1/sub/cgroup.procs").write_text("12\n")
    m = cgroups.Manager.load(setup_of(fake_v1), "/c1")
    assert m.pids() == [10, 11, 12]
    m.destroy()
    assert not (fake_v1.root / "freezer/c1").exists()
    assert m.pids() == []


def test_freeze_and_thaw_v1_and_v2(fake_v1: FakeHost, fake_v2: FakeHost) -> None:
    fake_v1.populate("/c1")
    m1 = cgroups.Manager.load(setup_of(fake_v1), "/c1")
    m1.freeze()
    assert m1.frozen()
    assert read(fake_v1.root / "freezer/c1", "freezer.state") == "FROZEN"
    m1.thaw()
    assert not m1.frozen()
    fake_v2.populate("/c1")
    (fake_v2.root / "c1/cgroup.events").write_text("populated 1\nfrozen 1\n")
    m2 = cgroups.Manager.load(setup_of(fake_v2), "/c1")
    m2.freeze()
    assert read(fake_v2.root / "c1", "cgroup.freeze") == "1"
    assert m2.frozen()
    m2.thaw()
    assert not m2.frozen()


def test_stats_v1_shape(fake_v1: FakeHost) -> None:
    fake_v1.populate("/c1")
    r = fake_v1.root
    (r / "cpu,cpuacct/c1/cpuacct.usage").write_text("123\n")
    (r / "memory/c1/memory.usage_in_bytes").write_text("4096\n")
    (r / "pids/c1/pids.current").write_text("2\n")
    (r / "pids/c1/pids.max").write_text("10\n")
    st = cgroups.Manager.load(setup_of(fake_v1), "/c1").stats()
    assert set(st) == {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb"}
    assert st["cpu"]["usage"]["total"] == 123
    assert st["cpu"]["throttling"] == {"periods": 0, "throttledPeriods": 0, "throttledTime": 0}
    assert st["memory"]["usage"]["usage"] == 4096
    assert st["pids"] == {"current": 2, "limit": 10}
    assert "2MB" in st["hugetlb"]


def test_stats_v2_shape_and_oom_count(fake_v2: FakeHost) -> None:
    fake_v2.populate("/c1")
    g = fake_v2.root / "c1"
    (g / "cpu.stat").write_text("usage_usec 7\nuser_usec 4\nsystem_usec 3\n")
    (g / "memory.events").write_text("max 1\noom 2\noom_kill 2\n")
    (g / "pids.current").write_text("1\n")
    m = cgroups.Manager.load(setup_of(fake_v2), "/c1")
    st = m.stats()
    assert st["cpu"]["usage"]["total"] == 7000
    assert st["memory"]["usage"]["failcnt"] == 1
    assert st["pids"] == {"current": 1, "limit": 0}
    assert m.oom_count() == 2


def test_stats_of_a_missing_group_is_not_found(fake_v1: FakeHost) -> None:
    with pytest.raises(NotFound, match="cgroup '/gone' does not exist"):
        cgroups.Manager.load(setup_of(fake_v1), "/gone").stats()


def test_oom_count_v1(fake_v1: FakeHost) -> None:
    fake_v1.populate("/c1")
    (fake_v1.root / "memory/c1/memory.oom_control").write_text(
        "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n"
    )
    assert cgroups.Manager.load(setup_of(fake_v1), "/c1").oom_count() == 4


def test_update_applies_new_limits(fake_v1: FakeHost) -> None:
    fake_v1.populate("/c1")
    m = cgroups.Manager.create(setup_of(fake_v1), "/c1", {"pids": {"limit": 10}})
    m.apply({"pids": {"limit": 20}, "memory": {"limit": 1 << 20}})
    assert read(fake_v1.root / "pids/c1", "pids.max") == "20"
    assert read(fake_v1.root / "memory/c1", "memory.limit_in_bytes") == str(1 << 20)
    with pytest.raises(InvalidArgument, match=r"linux.resources.unified"):
        m.apply({"unified": {"memory.high": "1"}})


@pytest.mark.parametrize("path", ["/", "relative", "/a/../b", "/a/./b"])
def test_manager_refuses_paths_that_are_not_normalised(fake_v1: FakeHost, path: str) -> None:
    with pytest.raises(InvalidArgument, match="is not a normalised absolute path below the root"):
        cgroups.Manager.load(setup_of(fake_v1), path)
