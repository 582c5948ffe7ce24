"""Each v1 controller's apply on a fake group: the exact file contents it leaves."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from cgroups_fake import read, v1_group

from berth.cgroups.v1 import (
    blkio,
    cpu,
    cpuacct,
    cpuset,
    devices,
    freezer,
    hugetlb,
    memory,
    net_cls,
    net_prio,
    pids,
)
from berth.errdefs import BerthError, FailedPrecondition, InvalidArgument


def test_cpu_writes_shares_period_quota_burst_idle_and_realtime(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "cpu")
    cpu.apply(
        {
            "cpu": {
                "shares": 512,
                "period": 50000,
                "quota": 25000,
                "burst": 1000,
                "idle": 1,
                "realtimePeriod": 900000,
                "realtimeRuntime": 95000,
            }
        },
        str(g),
    )
    assert read(g, "cpu.shares") == "512"
    assert read(g, "cpu.cfs_period_us") == "50000"
    assert read(g, "cpu.cfs_quota_us") == "25000"
    assert read(g, "cpu.cfs_burst_us") == "1000"
    assert read(g, "cpu.idle") == "1"
    assert read(g, "cpu.rt_period_us") == "900000"
    assert read(g, "cpu.rt_runtime_us") == "95000"


def test_cpu_leaves_unset_fields_alone(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "cpu")
    cpu.apply({"cpu": {"quota": -1}}, str(g))
    assert read(g, "cpu.cfs_quota_us") == "-1"
    assert read(g, "cpu.shares") == "1024"
    assert read(g, "cpu.cfs_period_us") == "100000"


def test_cpu_refuses_shares_the_kernel_clamped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = v1_group(tmp_path / "g", "cpu")
    monkeypatch.setattr(cpu, "read_uint", lambda d, n: 262144)
    with pytest.raises(
        InvalidArgument,
        match=r"cpu.shares: 300000 is out of range: the maximum allowed cpu shares is 262144",
    ):
        cpu.apply({"cpu": {"shares": 300000}}, str(g))


def test_cpu_writes_quota_first_when_the_kernel_refuses_the_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writes: list[tuple[str, str, str]]
) -> None:
    g = v1_group(tmp_path / "g", "cpu")
    refused = []

    def write_error(d: str, name: str, value: str, field: str | None = None) -> BerthError | None:
        err = InvalidArgument("invalid argument")
        err.errno = errno.EINVAL  # type: ignore[attr-defined]
        refused.append(name)
        return err

    monkeypatch.setattr(cpu, "write_error", write_error)
    cpu.apply({"cpu": {"period": 10000, "quota": 5000}}, str(g))
    assert refused == ["cpu.cfs_period_us"]
    assert [(n, v) for _, n, v in writes] == [
        ("cpu.cfs_quota_us", "5000"),
        ("cpu.cfs_period_us", "10000"),
    ]


def test_cpu_realtime_without_kernel_support_is_a_failed_precondition(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "cpu")
    (g / "cpu.rt_runtime_us").unlink()
    with pytest.raises(
        FailedPrecondition,
        match=r"linux.resources.cpu.realtimeRuntime: the kernel has no real-time",
    ):
        cpu.apply({"cpu": {"realtimeRuntime": 1000}}, str(g))


def test_cpu_stats_reads_throttling(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "cpu")
    (g / "cpu.stat").write_text("nr_periods 10\nnr_throttled 3\nthrottled_time 123456\n")
    assert cpu.stats(str(g)) == {"periods": 10, "throttledPeriods": 3, "throttledTime": 123456}


def test_cpuacct_stats_converts_ticks_to_nanoseconds(tmp_path: Path) -> None:
    import os

    g = v1_group(tmp_path / "g", "cpuacct")
    (g / "cpuacct.usage").write_text("5000000000\n")
    (g / "cpuacct.usage_percpu").write_text("3000000000 2000000000 \n")
    (g / "cpuacct.usage_percpu_sys").write_text("1 2\n")
    (g / "cpuacct.usage_percpu_user").write_text("3 4\n")
    (g / "cpuacct.stat").write_text("user 300\nsystem 100\n")
    ticks = os.sysconf("SC_CLK_TCK")
    assert cpuacct.stats(str(g)) == {
        "total": 5000000000,
        "percpu": [3000000000, 2000000000],
        "percpu_kernel": [1, 2],
        "percpu_user": [3, 4],
        "kernel": 100 * 10**9 // ticks,
        "user": 300 * 10**9 // ticks,
    }


def test_cpuset_inherits_cpus_and_mems_down_from_the_mount(tmp_path: Path) -> None:
    mount = v1_group(tmp_path / "cpuset", "cpuset")
    (mount / "cpuset.cpus").write_text("0-3\n")
    (mount / "cpuset.mems").write_text("0\n")
    parent = v1_group(mount / "berth", "cpuset")
    leaf = v1_group(parent / "abc", "cpuset")
    cpuset.apply({}, str(leaf))
    assert read(parent, "cpuset.cpus") == "0-3"
    assert read(parent, "cpuset.mems") == "0"
    assert read(leaf, "cpuset.cpus") == "0-3"
    assert read(leaf, "cpuset.mems") == "0"


def test_cpuset_inherits_top_down_through_several_levels(tmp_path: Path) -> None:
    mount = v1_group(tmp_path / "cpuset", "cpuset")
    (mount / "cpuset.cpus").write_text("0-7\n")
    (mount / "cpuset.mems").write_text("0-1\n")
    a = v1_group(mount / "a", "cpuset")
    b = v1_group(a / "b", "cpuset")
    leaf = v1_group(b / "c", "cpuset")
    cpuset.apply({"cpu": {"cpus": "2"}}, str(leaf))
    assert [read(d, "cpuset.cpus") for d in (a, b, leaf)] == ["0-7", "0-7", "2"]
    assert [read(d, "cpuset.mems") for d in (a, b, leaf)] == ["0-1", "0-1", "0-1"]


def test_cpuset_writes_requested_values_and_inherits_the_rest(tmp_path: Path) -> None:
    mount = v1_group(tmp_path / "cpuset", "cpuset")
    (mount / "cpuset.cpus").write_text("0-3\n")
    (mount / "cpuset.mems").write_text("0-1\n")
    leaf = v1_group(mount / "abc", "cpuset")
    cpuset.apply({"cpu": {"cpus": "1,3"}}, str(leaf))
    assert read(leaf, "cpuset.cpus") == "1,3"
    assert read(leaf, "cpuset.mems") == "0-1"


def test_cpuset_keeps_a_parent_that_already_has_values(tmp_path: Path) -> None:
    mount = v1_group(tmp_path / "cpuset", "cpuset")
    (mount / "cpuset.cpus").write_text("0-3\n")
    (mount / "cpuset.mems").write_text("0\n")
    parent = v1_group(mount / "berth", "cpuset")
    (parent / "cpuset.cpus").write_text("2\n")
    leaf = v1_group(parent / "abc", "cpuset")
    cpuset.apply({}, str(leaf))
    assert read(parent, "cpuset.cpus") == "2\n"
    assert read(leaf, "cpuset.cpus") == "2"


def test_memory_writes_limit_reservation_oom_and_swappiness(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "memory")
    memory.apply(
        {
            "memory": {
                "limit": 1 << 30,
                "reservation": 1 << 29,
                "disableOOMKiller": True,
                "swappiness": 10,
            }
        },
        str(g),
    )
    assert read(g, "memory.limit_in_bytes") == str(1 << 30)
    assert read(g, "memory.soft_limit_in_bytes") == str(1 << 29)
    assert read(g, "memory.oom_control") == "1"
    assert read(g, "memory.swappiness") == "10"
    assert read(g, "memory.memsw.limit_in_bytes") == "9223372036854771712"


def test_memory_grows_memsw_before_memory(
    tmp_path: Path, writes: list[tuple[str, str, str]]
) -> None:
    g = v1_group(tmp_path / "g", "memory")
    (g / "memory.limit_in_bytes").write_text("100")
    memory.apply({"memory": {"limit": 200, "swap": 400}}, str(g))
    assert [(n, v) for _, n, v in writes] == [
        ("memory.memsw.limit_in_bytes", "400"),
        ("memory.limit_in_bytes", "200"),
    ]


def test_memory_shrinks_memory_before_memsw(
    tmp_path: Path, writes: list[tuple[str, str, str]]
) -> None:
    g = v1_group(tmp_path / "g", "memory")
    (g / "memory.limit_in_bytes").write_text("1000")
    memory.apply({"memory": {"limit": 200, "swap": 400}}, str(g))
    assert [(n, v) for _, n, v in writes] == [
        ("memory.limit_in_bytes", "200"),
        ("memory.memsw.limit_in_bytes", "400"),
    ]


def test_memory_unlimited_makes_swap_unlimited_too(
    tmp_path: Path, writes: list[tuple[str, str, str]]
) -> None:
    g = v1_group(tmp_path / "g", "memory")
    (g / "memory.limit_in_bytes").write_text("100")
    memory.apply({"memory": {"limit": -1}}, str(g))
    assert [(n, v) for _, n, v in writes] == [
        ("memory.memsw.limit_in_bytes", "-1"),
        ("memory.limit_in_bytes", "-1"),
    ]


def test_memory_swap_without_swap_accounting_says_so(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "memory")
    (g / "memory.memsw.limit_in_bytes").unlink()
    with pytest.raises(
        FailedPrecondition, match=r"linux.resources.memory.swap: the kernel does not account swap"
    ):
        memory.apply({"memory": {"limit": 100, "swap": 200}}, str(g))


def test_memory_limit_below_usage_reports_the_usage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = v1_group(tmp_path / "g", "memory")
    (g / "memory.usage_in_bytes").write_text("5000")
    (g / "memory.max_usage_in_bytes").write_text("7000")

    def busy(
        d: str, name: str, value: str, field: str | None = None, missing: str | None = None
    ) -> None:
        err = BerthError(f"{field}: write '{d}/{name}': device or resource busy")
        err.errno = errno.EBUSY  # type: ignore[attr-defined]
        raise err

    monkeypatch.setattr(memory, "write", busy)
    with pytest.raises(
        FailedPrecondition,
        match=r"memory.limit: cannot set 1000, below the current usage 5000 \(peak 7000\)",
    ):
        memory.apply({"memory": {"limit": 1000}}, str(g))


def test_memory_stats_and_oom_count(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "memory")
    (g / "memory.usage_in_bytes").write_text("4096\n")
    (g / "memory.max_usage_in_bytes").write_text("8192\n")
    (g / "memory.failcnt").write_text("2\n")
    (g / "memory.limit_in_bytes").write_text("65536\n")
    (g / "memory.stat").write_text("cache 1024\nrss 3072\n")
    (g / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    st = memory.stats(str(g))
    assert st["usage"] == {"limit": 65536, "usage": 4096, "max": 8192, "failcnt": 2}
    assert st["cache"] == 1024
    assert st["raw"] == {"cache": 1024, "rss": 3072}
    assert st["kernel"] == {"limit": 0, "usage": 0, "max": 0, "failcnt": 0}
    assert memory.oom_count(str(g)) == 3


def test_devices_denies_all_then_writes_each_rule_in_order(
    tmp_path: Path, writes: list[tuple[str, str, str]]
) -> None:
    g = v1_group(tmp_path / "g", "devices")
    devices.apply(
        {
            "devices": [
                {"allow": False, "access": "rwm"},
                {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"},
                {"allow": True, "type": "c", "major": 136, "access": "rwm"},
                {"allow": False, "type": "b", "major": 8, "minor": 0, "access": "m"},
            ]
        },
        str(g),
    )
    assert [(n, v) for _, n, v in writes] == [
        ("devices.deny", "a"),
        ("devices.deny", "a *:* rwm"),
        ("devices.allow", "c 1:3 rw"),
        ("devices.allow", "c 136:* rwm"),
        ("devices.deny", "b 8:0 m"),
    ]


def test_devices_untouched_without_a_devices_list(
    tmp_path: Path, writes: list[tuple[str, str, str]]
) -> None:
    g = v1_group(tmp_path / "g", "devices")
    devices.apply({"memory": {}}, str(g))
    assert writes == []


def test_freezer_freezes_and_thaws(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "freezer")
    freezer.freeze(str(g))
    assert read(g, "freezer.state") == "FROZEN"
    assert freezer.frozen(str(g))
    freezer.thaw(str(g))
    assert read(g, "freezer.state") == "THAWED"
    assert not freezer.frozen(str(g))


def test_freezer_thaws_again_when_freezing_never_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from berth.errdefs import Unavailable

    g = v1_group(tmp_path / "g", "freezer")
    monkeypatch.setattr(freezer, "state", lambda path: "FREEZING")
    with pytest.raises(Unavailable, match="still freezing"):
        freezer.freeze(str(g), timeout=0.01)
    assert read(g, "freezer.state") == "THAWED"


def test_blkio_writes_weights_and_throttles(
    tmp_path: Path, writes: list[tuple[str, str, str]]
) -> None:
    g = v1_group(tmp_path / "g", "blkio")
    blkio.apply(
        {
            "blockIO": {
                "weight": 300,
                "leafWeight": 200,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 100}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                "throttleWriteBpsDevice": [{"major": 8, "minor": 16, "rate": 2048}],
                "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 0}],
            }
        },
        str(g),
    )
    assert [(n, v) for _, n, v in writes] == [
        ("blkio.weight", "300"),
        ("blkio.leaf_weight", "200"),
        ("blkio.weight_device", "8:0 600"),
        ("blkio.leaf_weight_device", "8:0 100"),
        ("blkio.throttle.read_bps_device", "8:0 1048576"),
        ("blkio.throttle.write_bps_device", "8:16 2048"),
        ("blkio.throttle.read_iops_device", "8:0 100"),
        ("blkio.throttle.write_iops_device", "8:0 0"),
    ]


def test_blkio_uses_bfq_weight_without_cfq(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "blkio")
    (g / "blkio.weight").unlink()
    (g / "blkio.bfq.weight").write_text("100")
    blkio.apply({"blockIO": {"weight": 700}}, str(g))
    assert read(g, "blkio.bfq.weight") == "700"


def test_blkio_weight_without_a_proportional_scheduler_is_refused(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "blkio")
    (g / "blkio.weight").unlink()
    with pytest.raises(
        FailedPrecondition, match=r"linux.resources.blockIO.weight: no proportional io scheduler"
    ):
        blkio.apply({"blockIO": {"weight": 700}}, str(g))


def test_blkio_stats_prefers_cfq_and_skips_totals(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "blkio")
    (g / "blkio.io_serviced_recursive").write_text("8:0 Read 4\n8:0 Write 2\nTotal 6\n")
    (g / "blkio.io_service_bytes_recursive").write_text(
        "8:0 Read 4096\n8:0 Write 1024\nTotal 5120\n"
    )
    (g / "blkio.sectors_recursive").write_text("8:0 16\n")
    st = blkio.stats(str(g))
    assert st["ioServicedRecursive"] == [
        {"major": 8, "minor": 0, "op": "Read", "value": 4},
        {"major": 8, "minor": 0, "op": "Write", "value": 2},
    ]
    assert st["ioServiceBytesRecursive"][0] == {"major": 8, "minor": 0, "op": "Read", "value": 4096}
    assert st["sectorsRecursive"] == [{"major": 8, "minor": 0, "op": "", "value": 16}]


def test_blkio_stats_falls_back_to_the_throttle_layer(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "blkio")
    (g / "blkio.throttle.io_service_bytes_recursive").write_text("253:0 Read 10\nTotal 10\n")
    (g / "blkio.throttle.io_serviced").write_text("253:0 Read 1\n")
    st = blkio.stats(str(g))
    assert st == {
        "ioServiceBytesRecursive": [{"major": 253, "minor": 0, "op": "Read", "value": 10}],
        "ioServicedRecursive": [{"major": 253, "minor": 0, "op": "Read", "value": 1}],
    }


@pytest.mark.parametrize(("limit", "expected"), [(100, "100"), (0, "max"), (-1, "max")])
def test_pids_writes_max_for_zero_or_less(tmp_path: Path, limit: int, expected: str) -> None:
    g = v1_group(tmp_path / "g", "pids")
    pids.apply({"pids": {"limit": limit}}, str(g))
    assert read(g, "pids.max") == expected


def test_pids_stats_reports_max_as_zero(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "pids")
    (g / "pids.current").write_text("7\n")
    assert pids.stats(str(g)) == {"current": 7, "limit": 0}
    (g / "pids.max").write_text("64\n")
    assert pids.stats(str(g)) == {"current": 7, "limit": 64}


def test_hugetlb_writes_limit_and_reservation_limit(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "hugetlb")
    hugetlb.apply(
        {
            "hugepageLimits": [
                {"pageSize": "2MB", "limit": 4194304},
                {"pageSize": "1GB", "limit": 0},
            ]
        },
        str(g),
    )
    assert read(g, "hugetlb.2MB.limit_in_bytes") == "4194304"
    assert read(g, "hugetlb.2MB.rsvd.limit_in_bytes") == "4194304"
    assert read(g, "hugetlb.1GB.limit_in_bytes") == "0"


def test_hugetlb_unknown_page_size_names_the_entry(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "hugetlb")
    with pytest.raises(
        FailedPrecondition, match=r"hugepageLimits\[0\]: the kernel has no 64KB huge pages"
    ):
        hugetlb.apply({"hugepageLimits": [{"pageSize": "64KB", "limit": 1}]}, str(g))


def test_hugetlb_stats_per_page_size(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "hugetlb")
    (g / "hugetlb.2MB.usage_in_bytes").write_text("2097152\n")
    (g / "hugetlb.2MB.max_usage_in_bytes").write_text("4194304\n")
    (g / "hugetlb.2MB.failcnt").write_text("1\n")
    st = hugetlb.stats(str(g))
    assert st["2MB"] == {"usage": 2097152, "max": 4194304, "failcnt": 1}
    assert set(st) == {"1GB", "2MB"}


def test_net_cls_writes_the_class_id(tmp_path: Path) -> None:
    g = v1_group(tmp_path / "g", "net_cls")
    net_cls.apply({"network": {"classID": 0x100001}}, str(g))
    assert read(g, "net_cls.classid") == "1048577"


def test_net_prio_writes_one_interface_per_write(
    tmp_path: Path, writes: list[tuple[str, str, str]]
) -> None:
    g = v1_group(tmp_path / "g", "net_prio")
    net_prio.apply(
        {
            "network": {
                "priorities": [{"name": "eth0", "priority": 5}, {"name": "lo", "priority": 2}]
            }
        },
        str(g),
    )
    assert [(n, v) for _, n, v in writes] == [
        ("net_prio.ifpriomap", "eth0 5"),
        ("net_prio.ifpriomap", "lo 2"),
    ]


def test_write_error_names_field_and_file(tmp_path: Path) -> None:
    from berth.errdefs import NotFound

    g = v1_group(tmp_path / "g", "pids")
    (g / "pids.max").unlink()
    with pytest.raises(NotFound) as info:
        pids.apply({"pids": {"limit": 5}}, str(g))
    assert (
        str(info.value)
        == f"linux.resources.pids.limit: write '{g}/pids.max': no such file or directory"
    )
