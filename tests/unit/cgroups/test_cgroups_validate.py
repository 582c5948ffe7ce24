"""validate(): every bad value refused naming its field; warnings for what a host ignores."""

from __future__ import annotations

from typing import Any

import pytest

from berth import cgroups
from berth.errdefs import InvalidArgument


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (
            {"memory": {"limit": -5}},
            "linux.resources.memory.limit: -5 is not a valid limit (want a positive number of bytes or -1)",
        ),
        ({"memory": {"limit": "1g"}}, "linux.resources.memory.limit: '1g' is not an integer"),
        ({"memory": {"limit": True}}, "linux.resources.memory.limit: True is not an integer"),
        (
            {"memory": {"reservation": -2}},
            "linux.resources.memory.reservation: -2 is not a valid reservation",
        ),
        (
            {"memory": {"swap": 100}},
            "linux.resources.memory.swap: 100 needs linux.resources.memory.limit to be set",
        ),
        (
            {"memory": {"limit": 200, "swap": 100}},
            "linux.resources.memory.swap: 100 is less than linux.resources.memory.limit 200",
        ),
        (
            {"memory": {"swappiness": 101}},
            "linux.resources.memory.swappiness: 101 is not a valid swappiness (want 0 to 100)",
        ),
        (
            {"memory": {"disableOOMKiller": 1}},
            "linux.resources.memory.disableOOMKiller: 1 is not a boolean",
        ),
        ({"memory": []}, "linux.resources.memory: [] is not an object"),
        ({"cpu": {"shares": -1}}, "linux.resources.cpu.shares: -1 is not a valid cpu shares"),
        (
            {"cpu": {"shares": 1}},
            "linux.resources.cpu.shares: 1 is not a valid cpu shares value (want 2 to 262144)",
        ),
        (
            {"cpu": {"shares": 300000}},
            "linux.resources.cpu.shares: 300000 is not a valid cpu shares value",
        ),
        (
            {"cpu": {"quota": 500}},
            "linux.resources.cpu.quota: 500 is not a valid quota (want at least 1000 microseconds, or -1 for no limit)",
        ),
        ({"cpu": {"quota": -2}}, "linux.resources.cpu.quota: -2 is not a valid quota"),
        (
            {"cpu": {"period": 999}},
            "linux.resources.cpu.period: 999 is not a valid period (want 1000 to 1000000 microseconds)",
        ),
        ({"cpu": {"period": 2000000}}, "linux.resources.cpu.period: 2000000 is not a valid period"),
        (
            {"cpu": {"idle": 2}},
            "linux.resources.cpu.idle: 2 is not a valid idle value (want 0 or 1)",
        ),
        ({"cpu": {"cpus": "0-3,a"}}, "linux.resources.cpu.cpus: '0-3,a' is not a cpu/node list"),
        ({"cpu": {"cpus": "3-1"}}, "linux.resources.cpu.cpus: '3-1': range '3-1' is reversed"),
        ({"cpu": {"mems": "0--1"}}, "linux.resources.cpu.mems: '0--1' is not a cpu/node list"),
        (
            {"blockIO": {"weight": 5}},
            "linux.resources.blockIO.weight: 5 is not a valid weight (want 10 to 1000)",
        ),
        (
            {"blockIO": {"weight": 1001}},
            "linux.resources.blockIO.weight: 1001 is not a valid weight (want 10 to 1000)",
        ),
        (
            {"blockIO": {"weightDevice": [{"major": 8, "weight": 100}]}},
            "linux.resources.blockIO.weightDevice[0].minor: missing",
        ),
        (
            {"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": -1}]}},
            "linux.resources.blockIO.throttleReadBpsDevice[0].rate: -1 is not a valid rate",
        ),
        (
            {"hugepageLimits": [{"pageSize": "2M", "limit": 1}]},
            "linux.resources.hugepageLimits[0].pageSize: '2M' is not a huge page size",
        ),
        (
            {"hugepageLimits": [{"pageSize": "2MB"}]},
            "linux.resources.hugepageLimits[0].limit: missing",
        ),
        (
            {"network": {"classID": -1}},
            "linux.resources.network.classID: -1 is not a valid class id",
        ),
        (
            {"network": {"priorities": [{"name": "eth 0", "priority": 1}]}},
            "linux.resources.network.priorities[0].name: 'eth 0' is not an interface name",
        ),
        ({"pids": {"limit": "10"}}, "linux.resources.pids.limit: '10' is not an integer"),
        (
            {"devices": [{"allow": True, "type": "p"}]},
            "linux.resources.devices[0].type: 'p' is not a device type (want 'a', 'b' or 'c')",
        ),
        (
            {"devices": {"allow": True}},
            "linux.resources.devices: {'allow': True} is not a list of device rules",
        ),
        (
            {"unified": {"../memory.max": "1"}},
            "linux.resources.unified: '../memory.max' is not a cgroup file name",
        ),
        (
            {"unified": {"memory": "1"}},
            "linux.resources.unified: 'memory' is not a cgroup file name",
        ),
        (
            {"unified": {"cgroup.procs": "1"}},
            "linux.resources.unified.cgroup.procs: the runtime owns this file",
        ),
        ({"unified": {"memory.high": 5}}, "linux.resources.unified.memory.high: 5 is not a string"),
        ([], "linux.resources: [] is not an object"),
    ],
)
def test_bad_values_name_the_field(resources: Any, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        cgroups.validate(resources, "v2")
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("mode", ["v1", "hybrid"])
def test_unified_is_refused_without_cgroup_v2(mode: str) -> None:
    with pytest.raises(
        InvalidArgument,
        match=f"linux.resources.unified: cgroup v2 files cannot be set on a {mode} cgroup host",
    ):
        cgroups.validate({"unified": {"memory.high": "1"}}, mode)


def test_good_values_pass_without_warnings() -> None:
    resources = {
        "memory": {"limit": 1 << 30, "reservation": 1 << 29, "swap": 2 << 30, "swappiness": -1},
        "cpu": {
            "shares": 1024,
            "quota": 50000,
            "period": 100000,
            "cpus": "0-3,5",
            "mems": "0",
            "idle": 0,
        },
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 0}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
        "pids": {"limit": -1},
        "devices": [
            {"allow": False, "access": "rwm"},
            {"allow": True, "type": "c", "major": 1, "minor": 3},
        ],
        "unified": {"memory.high": "max"},
    }
    assert cgroups.validate(resources, "v2") == []
    assert cgroups.validate(None, "v1") == []


def test_kernel_memory_is_ignored_with_a_warning() -> None:
    warnings = cgroups.validate({"memory": {"kernel": 1 << 20, "kernelTCP": 1 << 20}}, "v1")
    assert warnings == [
        "linux.resources.memory.kernel: kernel memory limits are not supported by the kernel any more, ignored",
        "linux.resources.memory.kernelTCP: kernel memory limits are not supported by the kernel any more, ignored",
    ]


def test_v2_warns_about_fields_it_has_no_file_for() -> None:
    warnings = cgroups.validate(
        {
            "memory": {"disableOOMKiller": True, "swappiness": 10},
            "cpu": {"realtimeRuntime": 1000},
            "blockIO": {"leafWeight": 100},
            "rdma": {"mlx4_0": {"hcaHandles": 2}},
        },
        "v2",
    )
    assert [w.split(":")[0] for w in warnings] == [
        "linux.resources.memory.disableOOMKiller",
        "linux.resources.memory.swappiness",
        "linux.resources.cpu.realtimeRuntime",
        "linux.resources.blockIO.leafWeight",
        "linux.resources.rdma",
    ]
    assert cgroups.validate({"memory": {"disableOOMKiller": True, "swappiness": 10}}, "v1") == []


def test_warns_about_controllers_the_host_lacks(tmp_path: Any) -> None:
    v1 = cgroups.Setup("v1", "/sys/fs/cgroup", {"memory": "/m", "cpu": "/c"})
    warnings = cgroups.validate(
        {
            "memory": {"limit": 100},
            "pids": {"limit": 5},
            "network": {"classID": 1},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
        },
        v1,
    )
    assert warnings == [
        "linux.resources.hugepageLimits: the hugetlb controller is not mounted on this host, ignored",
        "linux.resources.pids: the pids controller is not mounted on this host, ignored",
        "linux.resources.network.classID: the net_cls controller is not mounted on this host, ignored",
    ]
    hybrid = cgroups.Setup(
        "hybrid", "/sys/fs/cgroup", {"memory": "/m"}, "/u", frozenset({"hugetlb"})
    )
    assert cgroups.validate({"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}, hybrid) == []
    v2 = cgroups.Setup("v2", "/sys/fs/cgroup", {}, "/sys/fs/cgroup", frozenset({"memory", "pids"}))
    assert cgroups.validate(
        {
            "memory": {"limit": 100},
            "cpu": {"quota": 2000},
            "network": {"classID": 1},
            "devices": [],
        },
        v2,
    ) == [
        "linux.resources.cpu: the cpu controller is not available on this host, ignored",
        "linux.resources.network.classID: cgroup v2 has no net_cls controller, ignored",
    ]
