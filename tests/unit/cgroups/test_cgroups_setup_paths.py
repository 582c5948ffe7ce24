"""detect() on mountinfo samples and temp trees; resolve_path() cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from cgroups_fake import FakeHost

from berth import cgroups
from berth.errdefs import FailedPrecondition, InvalidArgument

DEBIAN_HYBRID = """\
22 28 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 22 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
33 31 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
36 31 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
37 31 0:34 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,net_cls,net_prio
39 31 0:36 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,pids
"""

PURE_V2 = """\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
"""

PURE_V1 = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
50 31 0:40 / /elsewhere/cgroup/pids rw,relatime - cgroup cgroup rw,pids
"""


def _mountinfo(tmp_path: Path, text: str) -> str:
    p = tmp_path / "mountinfo"
    p.write_text(text)
    return str(p)


def test_detect_hybrid_debian_layout(tmp_path: Path) -> None:
    setup = cgroups.detect("/sys/fs/cgroup", _mountinfo(tmp_path, DEBIAN_HYBRID))
    assert setup.mode == "hybrid"
    assert setup.unified == "/sys/fs/cgroup/unified"
    assert setup.v1 == {
        "name=systemd": "/sys/fs/cgroup/systemd",
        "cpu": "/sys/fs/cgroup/cpu,cpuacct",
        "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
        "memory": "/sys/fs/cgroup/memory",
        "net_cls": "/sys/fs/cgroup/net_cls,net_prio",
        "net_prio": "/sys/fs/cgroup/net_cls,net_prio",
        "pids": "/sys/fs/cgroup/pids",
    }


def test_detect_pure_v2(tmp_path: Path) -> None:
    setup = cgroups.detect("/sys/fs/cgroup", _mountinfo(tmp_path, PURE_V2))
    assert (setup.mode, setup.unified, setup.v1) == ("v2", "/sys/fs/cgroup", {})


def test_detect_v2_root_mount_wins_over_one_below_it(tmp_path: Path) -> None:
    text = PURE_V2 + "40 26 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    setup = cgroups.detect("/sys/fs/cgroup", _mountinfo(tmp_path, text))
    assert (setup.mode, setup.unified) == ("v2", "/sys/fs/cgroup")


def test_detect_v1_ignores_mounts_outside_the_root(tmp_path: Path) -> None:
    setup = cgroups.detect("/sys/fs/cgroup", _mountinfo(tmp_path, PURE_V1))
    assert setup.mode == "v1"
    assert setup.unified is None
    assert setup.v1 == {
        "cpu": "/sys/fs/cgroup/cpu",
        "memory": "/sys/fs/cgroup/memory",
        "name=systemd": "/sys/fs/cgroup/systemd",
    }


def test_detect_unescapes_mount_points(tmp_path: Path) -> None:
    text = r"40 31 0:37 / /srv/my\040cgroups/memory rw - cgroup cgroup rw,memory" + "\n"
    setup = cgroups.detect("/srv/my cgroups", _mountinfo(tmp_path, text))
    assert setup.v1 == {"memory": "/srv/my cgroups/memory"}


def test_detect_without_any_cgroup_mount_fails(tmp_path: Path) -> None:
    with pytest.raises(
        FailedPrecondition, match="no cgroup hierarchy is mounted at or below '/sys/fs/cgroup'"
    ):
        cgroups.detect(
            "/sys/fs/cgroup", _mountinfo(tmp_path, "22 28 0:20 / /sys rw - sysfs sysfs rw\n")
        )


def test_detect_fake_hosts_from_their_mountinfo(fake_v1: FakeHost, fake_v2: FakeHost) -> None:
    s1 = cgroups.detect(str(fake_v1.root), str(fake_v1.mountinfo))
    assert s1.mode == "v1"
    assert s1.v1["cpu"] == s1.v1["cpuacct"] == f"{fake_v1.root}/cpu,cpuacct"
    s2 = cgroups.detect(str(fake_v2.root), str(fake_v2.mountinfo))
    assert s2.mode == "v2"
    assert s2.unified_controllers == {"cpuset", "cpu", "io", "memory", "hugetlb", "pids"}


def test_detect_by_scanning_the_root(fake_hybrid: FakeHost, tmp_path: Path) -> None:
    (fake_hybrid.root / "cpu").symlink_to("cpu,cpuacct")
    setup = cgroups.detect(str(fake_hybrid.root), mountinfo=None)
    assert setup.mode == "hybrid"
    assert setup.unified == f"{fake_hybrid.root}/unified"
    assert setup.unified_controllers == {"hugetlb"}
    assert setup.v1["cpu"] == f"{fake_hybrid.root}/cpu,cpuacct"
    assert setup.v1["name=systemd"] == f"{fake_hybrid.root}/systemd"
    missing = cgroups.detect(str(fake_hybrid.root), str(tmp_path / "no-such-mountinfo"))
    assert missing.v1 == setup.v1


def test_detect_real_host() -> None:
    setup = cgroups.detect()
    assert setup.mode in ("v1", "v2", "hybrid")
    assert setup.root == "/sys/fs/cgroup"


@pytest.mark.parametrize(
    ("cgroups_path", "own", "expected"),
    [
        ("/berth/abc", "/", "/berth/abc"),
        ("/berth//abc/./", "/", "/berth/abc"),
        ("/berth/x/../abc", "/", "/berth/abc"),
        ("", "/", "/c1"),
        (None, "/user.slice", "/c1"),
        ("berth/abc", "/user.slice/session-1.scope", "/user.slice/session-1.scope/berth/abc"),
        ("../sibling", "/a/b", "/a/sibling"),
    ],
)
def test_resolve_path(cgroups_path: str | None, own: str, expected: str) -> None:
    assert cgroups.resolve_path(cgroups_path, "c1", own_cgroup=own) == expected


@pytest.mark.parametrize(
    ("cgroups_path", "own", "message"),
    [
        ("/../etc", "/", "linux.cgroupsPath '/../etc' escapes the cgroup hierarchy root"),
        ("../../..", "/a", "linux.cgroupsPath '../../..' escapes the cgroup hierarchy root"),
        ("/a\0b", "/", "linux.cgroupsPath '/a\\x00b' contains a NUL byte"),
        ("system.slice:docker:abc", "/", "is systemd 'slice:prefix:name' syntax"),
        ("/", "/", "linux.cgroupsPath '/' is the hierarchy root"),
        ("/a/..", "/", "is the hierarchy root"),
    ],
)
def test_resolve_path_refuses(cgroups_path: str, own: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        cgroups.resolve_path(cgroups_path, "c1", own_cgroup=own)
    assert message in str(info.value)


def test_resolve_path_refuses_an_id_that_is_not_a_name() -> None:
    with pytest.raises(InvalidArgument, match=r"container id '../x' cannot name a cgroup"):
        cgroups.resolve_path("", "../x", own_cgroup="/")


def test_current_cgroup_prefers_the_unified_entry(tmp_path: Path) -> None:
    p = tmp_path / "cgroup"
    p.write_text("9:name=systemd:/system.slice/x\n4:memory:/mem\n0::/user.slice/u\n")
    assert cgroups.current_cgroup(str(p)) == "/user.slice/u"
    p.write_text("9:name=systemd:/system.slice/x\n4:memory:/mem\n")
    assert cgroups.current_cgroup(str(p)) == "/system.slice/x"
    p.write_text("4:memory:/mem\n")
    assert cgroups.current_cgroup(str(p)) == "/mem"
