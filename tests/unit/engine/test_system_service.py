"""Host facts from temp trees, registry settings, engine id, and the service's answers."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from berth.cgroups import Setup
from berth.engine.host import cgroup_features, host_facts
from berth.engine.system import SystemConfig, SystemService, engine_id, registry_info
from berth.errdefs import FailedPrecondition


def fake_host(tmp_path: Path) -> tuple[str, str]:
    proc = tmp_path / "proc"
    (proc / "sys/net/ipv4").mkdir(parents=True)
    (proc / "sys/net/bridge").mkdir(parents=True)
    (proc / "self").mkdir()
    (proc / "meminfo").write_text("MemTotal:       24684084 kB\nMemFree: 1 kB\n")
    (proc / "sys/net/ipv4/ip_forward").write_text("1\n")
    (proc / "sys/net/bridge/bridge-nf-call-iptables").write_text("0\n")
    (proc / "self/mountinfo").write_text(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "40 22 0:35 / /var/lib/berth rw shared:2 - xfs /dev/sdb rw\n"
        "41 22 0:36 / /var/lib/berthx rw shared:3 - btrfs /dev/sdc rw\n"
    )
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "os-release").write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n# c\n')
    return str(proc), str(etc)


def v2() -> Setup:
    return Setup("v2", "/sys/fs/cgroup", {}, "/sys/fs/cgroup", frozenset({"cpu", "memory", "pids"}))


def test_host_facts_come_from_the_files(tmp_path: Path) -> None:
    proc, etc = fake_host(tmp_path)
    h = host_facts("/var/lib/berth/sub", proc=proc, etc=etc, detect=v2)
    assert h.mem_total == 24684084 * 1024
    assert h.operating_system == "Debian GNU/Linux 12 (bookworm)"
    assert h.os_version == "12"
    assert h.ipv4_forwarding is True
    assert h.bridge_nf_iptables is False
    assert h.bridge_nf_ip6tables is False  # file missing
    assert h.backing_filesystem == "xfs"  # longest mount point containing the root, not /var/lib/berthx
    assert h.kernel_version == os.uname().release
    assert h.ncpu == len(os.sched_getaffinity(0))
    assert h.cgroups is not None and h.cgroups.version == "2"


def test_ext4_is_reported_as_extfs(tmp_path: Path) -> None:
    proc, etc = fake_host(tmp_path)
    assert host_facts("/srv", proc=proc, etc=etc, detect=v2).backing_filesystem == "extfs"


def test_no_cgroups_is_not_fatal(tmp_path: Path) -> None:
    proc, etc = fake_host(tmp_path)

    def none() -> Setup:
        raise FailedPrecondition("no cgroup hierarchy")

    assert host_facts("/", proc=proc, etc=etc, detect=none).cgroups is None


def test_v2_features_follow_the_controllers() -> None:
    f = cgroup_features(v2())
    assert (f.version, f.memory_limit, f.cpu_shares, f.pids_limit, f.cpuset) == ("2", True, True, True, False)
    assert f.kernel_memory is False and f.oom_kill_disable is False


def test_v1_features_follow_the_files(tmp_path: Path) -> None:
    mem = tmp_path / "memory"
    cpu = tmp_path / "cpu"
    mem.mkdir()
    cpu.mkdir()
    (mem / "memory.oom_control").write_text("")
    (cpu / "cpu.shares").write_text("")
    setup = Setup("hybrid", str(tmp_path), {"memory": str(mem), "cpu": str(cpu), "pids": str(tmp_path)}, None, frozenset())
    f = cgroup_features(setup)
    assert f.version == "1"
    assert f.memory_limit and not f.swap_limit and f.oom_kill_disable
    assert f.cpu_shares and not f.cpu_cfs_quota
    assert f.pids_limit and not f.cpuset


def test_registry_info_splits_cidrs_from_hosts() -> None:
    r = registry_info(("10.0.0.0/8", "myreg:5000", "127.0.0.0/8"), ("https://m",))
    assert r.insecure_cidrs == ["127.0.0.0/8", "10.0.0.0/8"]
    assert [(i.name, i.secure, i.official) for i in r.indexes] == [("docker.io", True, True), ("myreg:5000", False, False)]
    assert r.indexes[0].mirrors == ["https://m"] and r.mirrors == ["https://m"]


def test_engine_id_is_made_once_and_kept(tmp_path: Path) -> None:
    a = engine_id(str(tmp_path))
    assert len(a) == 36 and a.count("-") == 4
    assert engine_id(str(tmp_path)) == a
    assert oct((tmp_path / "engine-id").stat().st_mode & 0o777) == "0o600"


def test_service_answers(tmp_path: Path) -> None:
    proc, etc = fake_host(tmp_path)
    rt = tmp_path / "fake-runc"
    rt.write_text("#!/bin/sh\necho 'runc version 1.1.5+ds1'\necho 'commit: v1.1.5-0-gabc'\n")
    rt.chmod(0o755)
    cfg = SystemConfig(
        root="/var/lib/berth",
        exec_root="/run/berth",
        runtimes={"runc": str(rt)},
        default_runtime="runc",
        insecure_registries=("myreg:5000",),
        labels=("a=b",),
    )
    svc = SystemService(
        cfg,
        engine_id="eid",
        facts=lambda root: host_facts(root, proc=proc, etc=etc, detect=v2),
        api_version="1.41",
        min_api_version="1.24",
    )
    v = asyncio.run(svc.version())
    assert v.api_version == "1.41" and v.min_api_version == "1.24"
    assert [c.name for c in v.components] == ["Engine", "runc"]
    assert v.components[1].version == "1.1.5+ds1"
    assert v.components[1].details == {"GitCommit": "v1.1.5-0-gabc"}
    assert v.components[0].details["KernelVersion"] == os.uname().release
    i = asyncio.run(svc.info())
    assert i.id == "eid" and i.root == "/var/lib/berth"
    assert i.containers.total == 0 and i.images == 0
    assert i.runtime_commit == "v1.1.5-0-gabc"
    assert i.host.backing_filesystem == "xfs"
    assert i.labels == ["a=b"]
    assert "WARNING: bridge-nf-call-iptables is disabled" in i.warnings
    assert "WARNING: No cpuset support" in i.warnings


def test_counts_come_from_the_seams() -> None:
    from berth.engine.system import ContainerCounts

    cfg = SystemConfig(root="/", exec_root="/run", runtimes={}, default_runtime="x")
    svc = SystemService(
        cfg,
        engine_id="e",
        container_counts=lambda: ContainerCounts(running=2, paused=1, stopped=3),
        image_count=lambda: 7,
        facts=lambda root: host_facts(root),
        api_version="1.41",
        min_api_version="1.24",
    )
    i = asyncio.run(svc.info())
    assert (i.containers.total, i.images) == (6, 7)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("http://user:pw@proxy:3128", "http://xxxxx:xxxxx@proxy:3128"), ("http://proxy:3128", "http://proxy:3128"), ("", "")],
)
def test_proxy_credentials_are_masked(raw: str, shown: str) -> None:
    from berth.engine.host import _masked_proxy

    assert _masked_proxy(raw) == shown
