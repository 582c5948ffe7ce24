"""berth.cgroups.parents: an engine's empty parent cgroup removed in every hierarchy."""

from __future__ import annotations

from berth.cgroups.parents import cgroup_mounts, remove_empty


def test_removes_the_empty_parent_everywhere_and_keeps_a_busy_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b, c = tmp_path / "memory", tmp_path / "systemd", tmp_path / "unified"
    (a / "berth").mkdir(parents=True)
    (b / "berth" / "still-here").mkdir(parents=True)  # a container's cgroup: busy
    c.mkdir()
    mi = tmp_path / "mountinfo"
    mi.write_text(
        f"30 25 0:26 / {a} rw shared:9 - cgroup cgroup rw,memory\n"
        f"31 25 0:27 / {b} rw shared:10 - cgroup cgroup rw,xattr,name=systemd\n"
        f"32 25 0:28 / {c} rw shared:11 - cgroup2 cgroup2 rw\n"
        f"33 25 0:29 / {tmp_path}/proc rw - proc proc rw\n"
    )
    assert cgroup_mounts(str(mi)) == [str(a), str(b), str(c)]
    assert remove_empty("/berth", str(mi)) == [str(a / "berth")]
    assert not (a / "berth").exists() and (b / "berth").exists()
    assert remove_empty("/", str(mi)) == []
