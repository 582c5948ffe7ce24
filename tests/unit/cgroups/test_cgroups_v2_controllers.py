"""Each v2 controller's apply on a fake unified group: the exact file contents it leaves."""

from __future__ import annotations

from pathlib import Path

import pytest
from cgroups_fake import read, v2_group

from berth.cgroups.v2 import cpu, cpuset, freezer, hugetlb, io, memory, pids, unified
from berth.errdefs import FailedPrecondition, Unavailable


@pytest.mark.parametrize(
    ("shares", "weight"), [(2, 1), (1024, 39), (262144, 10000), (512, 20), (0, 0)]
)
def test_cpu_shares_convert_to_weight_as_runc(shares: int, weight: int) -> None:
    assert cpu.shares_to_weight(shares) == weight


def test_cpu_writes_weight_max_burst_and_idle(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g")
    cpu.apply(
        {"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 10000, "idle": 0}},
        str(g),
    )
    assert read(g, "cpu.weight") == "39"
    assert read(g, "cpu.max") == "50000 100000"
    assert read(g, "cpu.max.burst") == "10000"
    assert read(g, "cpu.idle") == "0"


def test_cpu_unlimited_quota_is_max(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g")
    cpu.apply({"cpu": {"quota": -1, "period": 20000}}, str(g))
    assert read(g, "cpu.max") == "max 20000"


def test_cpu_quota_alone_keeps_the_period(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g", **{"cpu.max": "max 250000\n"})
    cpu.apply({"cpu": {"quota": 30000}}, str(g))
    assert read(g, "cpu.max") == "30000"


def test_cpu_period_alone_keeps_the_quota(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g", **{"cpu.max": "30000 100000\n"})
    cpu.apply({"cpu": {"period": 50000}}, str(g))
    assert read(g, "cpu.max") == "30000 50000"


def test_cpu_stats_in_nanoseconds(tmp_path: Path) -> None:
    g = v2_group(
        tmp_path / "g",
        **{
            "cpu.stat": (
                "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20\n"
            )
        },
    )
    assert cpu.stats(str(g)) == {
        "usage": {
            "total": 1500000,
            "percpu": [],
            "percpu_kernel": [],
            "percpu_user": [],
            "kernel": 500000,
            "user": 1000000,
        },
        "throttling": {"periods": 4, "throttledPeriods": 1, "throttledTime": 20000},
    }


def test_cpuset_writes_cpus_and_mems(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g")
    cpuset.apply({"cpu": {"cpus": "0-1", "mems": "0"}}, str(g))
    assert read(g, "cpuset.cpus") == "0-1"
    assert read(g, "cpuset.mems") == "0"


@pytest.mark.parametrize(
    ("limit", "swap", "mem_max", "swap_max"),
    [
        (1000, 3000, "1000", "2000"),  # swap is memory+swap: 2000 of swap
        (1000, 1000, "1000", "0"),  # equal: no swap
        (1000, -1, "1000", "max"),
        (-1, 0, "max", "max"),  # unlimited memory lifts swap too
        (1000, 0, "1000", "max\n"),  # swap untouched
    ],
)
def test_memory_converts_oci_swap_to_swap_max(
    tmp_path: Path, limit: int, swap: int, mem_max: str, swap_max: str
) -> None:
    g = v2_group(tmp_path / "g")
    memory.apply({"memory": {"limit": limit, "swap": swap}}, str(g))
    assert read(g, "memory.max") == mem_max
    assert read(g, "memory.swap.max") == swap_max


def test_memory_writes_swap_before_limit_and_reservation_as_low(
    tmp_path: Path, writes: list[tuple[str, str, str]]
) -> None:
    g = v2_group(tmp_path / "g")
    memory.apply({"memory": {"limit": 100, "swap": 300, "reservation": 50}}, str(g))
    assert [(n, v) for _, n, v in writes] == [
        ("memory.swap.max", "200"),
        ("memory.max", "100"),
        ("memory.low", "50"),
    ]


def test_memory_unlimited_without_swap_accounting_is_fine(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g")
    (g / "memory.swap.max").unlink()
    memory.apply({"memory": {"limit": -1}}, str(g))
    assert read(g, "memory.max") == "max"
    with pytest.raises(FailedPrecondition, match=r"memory.swap: the kernel does not account swap"):
        memory.apply({"memory": {"limit": 100, "swap": 200}}, str(g))


def test_memory_check_before_update_refuses_a_limit_below_usage(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g", **{"memory.current": "5000\n"})
    with pytest.raises(
        FailedPrecondition, match=r"memory.limit: refusing memory limit 4000 <= usage 5000"
    ):
        memory.apply({"memory": {"limit": 4000, "checkBeforeUpdate": True}}, str(g))
    assert read(g, "memory.max") == "max\n"
    memory.apply({"memory": {"limit": 4000}}, str(g))
    assert read(g, "memory.max") == "4000"


def test_memory_stats_report_swap_as_memory_plus_swap(tmp_path: Path) -> None:
    g = v2_group(
        tmp_path / "g",
        **{
            "memory.current": "1000\n",
            "memory.max": "4000\n",
            "memory.peak": "1500\n",
            "memory.swap.current": "200\n",
            "memory.swap.max": "1000\n",
            "memory.stat": "anon 600\nfile 400\n",
            "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n",
        },
    )
    st = memory.stats(str(g))
    assert st["usage"] == {"limit": 4000, "usage": 1000, "max": 1500, "failcnt": 3}
    assert st["swap"] == {"limit": 5000, "usage": 1200, "max": 0, "failcnt": 0}
    assert st["cache"] == 400
    assert st["raw"] == {"anon": 600, "file": 400}
    assert memory.oom_count(str(g)) == 2


def test_memory_stats_unlimited_is_max_u64(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g")
    st = memory.stats(str(g))
    assert st["usage"]["limit"] == 2**64 - 1
    assert st["swap"]["limit"] == 2**64 - 1


@pytest.mark.parametrize(("weight", "converted"), [(10, 1), (500, 4950), (1000, 10000), (0, 0)])
def test_io_weight_converts_as_runc(weight: int, converted: int) -> None:
    assert io.blkio_to_io_weight(weight) == converted


def test_io_writes_converted_weight_and_one_limit_per_write(
    tmp_path: Path, writes: list[tuple[str, str, str]]
) -> None:
    g = v2_group(tmp_path / "g")
    io.apply(
        {
            "blockIO": {
                "weight": 500,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 1000}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1024}],
                "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 0}],
                "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 10}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 20}],
            }
        },
        str(g),
    )
    assert [(n, v) for _, n, v in writes] == [
        ("io.weight", "4950"),
        ("io.weight", "8:0 10000"),
        ("io.max", "8:0 rbps=1024"),
        ("io.max", "8:0 wbps=max"),
        ("io.max", "8:16 riops=10"),
        ("io.max", "8:16 wiops=20"),
    ]


def test_io_uses_bfq_weight_unconverted_when_present(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g", **{"io.bfq.weight": "default 100\n"})
    io.apply({"blockIO": {"weight": 500}}, str(g))
    assert read(g, "io.bfq.weight") == "500"
    assert read(g, "io.weight") == "default 100\n"


def test_io_stats_map_to_v1_tables(tmp_path: Path) -> None:
    g = v2_group(
        tmp_path / "g", **{"io.stat": "8:0 rbytes=4096 wbytes=512 rios=2 wios=1 dbytes=0 dios=0\n"}
    )
    assert io.stats(str(g)) == {
        "ioServiceBytesRecursive": [
            {"major": 8, "minor": 0, "op": "Read", "value": 4096},
            {"major": 8, "minor": 0, "op": "Write", "value": 512},
        ],
        "ioServicedRecursive": [
            {"major": 8, "minor": 0, "op": "Read", "value": 2},
            {"major": 8, "minor": 0, "op": "Write", "value": 1},
        ],
    }


def test_pids_writes_pids_max(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g")
    pids.apply({"pids": {"limit": 32}}, str(g))
    assert read(g, "pids.max") == "32"
    pids.apply({"pids": {"limit": 0}}, str(g))
    assert read(g, "pids.max") == "max"


def test_hugetlb_writes_max_and_rsvd_max(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g")
    hugetlb.apply({"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}, str(g))
    assert read(g, "hugetlb.2MB.max") == "2097152"
    assert read(g, "hugetlb.2MB.rsvd.max") == "2097152"


def test_hugetlb_stats_count_refusals_as_failcnt(tmp_path: Path) -> None:
    g = v2_group(
        tmp_path / "g", **{"hugetlb.2MB.current": "4194304\n", "hugetlb.2MB.events": "max 5\n"}
    )
    assert hugetlb.stats(str(g)) == {"2MB": {"usage": 4194304, "max": 0, "failcnt": 5}}


def test_freezer_waits_for_frozen_event(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g", **{"cgroup.events": "populated 1\nfrozen 1\n"})
    freezer.freeze(str(g))
    assert read(g, "cgroup.freeze") == "1"
    assert freezer.frozen(str(g))
    freezer.thaw(str(g))
    assert read(g, "cgroup.freeze") == "0"
    assert not freezer.frozen(str(g))


def test_freezer_thaws_again_when_never_frozen(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g")
    with pytest.raises(Unavailable, match="still freezing"):
        freezer.freeze(str(g), timeout=0.01)
    assert read(g, "cgroup.freeze") == "0"


def test_unified_writes_each_file_line_by_line(
    tmp_path: Path, writes: list[tuple[str, str, str]]
) -> None:
    g = v2_group(tmp_path / "g", **{"memory.high": "max\n"})
    unified.apply(
        {"unified": {"memory.high": "1048576", "io.max": "8:0 rbps=1\n8:16 wbps=2\n"}}, str(g)
    )
    assert [(n, v) for _, n, v in writes] == [
        ("memory.high", "1048576"),
        ("io.max", "8:0 rbps=1"),
        ("io.max", "8:16 wbps=2"),
    ]


def test_unified_missing_controller_is_named(tmp_path: Path) -> None:
    g = v2_group(tmp_path / "g", **{"cgroup.controllers": "memory pids\n"})
    with pytest.raises(
        FailedPrecondition, match=r"unified.rdma.max: the rdma controller is not available"
    ):
        unified.apply({"unified": {"rdma.max": "mlx4_0 hca_handle=2"}}, str(g))
