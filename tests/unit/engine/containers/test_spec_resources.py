"""linux.resources, rlimits, --device and --device-cgroup-rule in the generated spec."""

from __future__ import annotations

import pytest

from berth.engine.containers.model import (
    BlkioDevice,
    DeviceMapping,
    Resources,
    ThrottleDevice,
    Ulimit,
)
from berth.engine.containers.spec import build_spec
from berth.engine.containers.spec_devices import DEFAULT_DEVICE_RULES, cgroup_rule
from berth.engine.containers.spec_resources import RLIM_INFINITY, rlimits
from berth.errdefs import InvalidArgument

from ._spec_fakes import DIR, FILE, FakeHost, blk_dev, chr_dev, container, spec_input


def resources(**kw: object) -> dict[str, object]:
    spec = build_spec(spec_input(container(resources=Resources(**kw)), host=HOST))  # type: ignore[arg-type]
    return spec["linux"]["resources"]  # type: ignore[no-any-return]


HOST = FakeHost(
    nodes={
        "/dev": DIR,
        "/dev/sda": blk_dev(8, 0),
        "/dev/sdb": blk_dev(8, 16),
        "/dev/ttyUSB0": chr_dev(188, 0, 0o660, 0, 20),
        "/dev/snd": DIR,
        "/dev/snd/pcmC0D0p": chr_dev(116, 16),
        "/dev/snd/readme": FILE,
        "/etc/passwd": FILE,
    },
    links={"/dev/disk0": "/dev/sda", "/dev/serial": "/dev/ttyUSB0"},
)


def test_no_limits_means_only_the_device_rules() -> None:
    assert resources() == {"devices": list(DEFAULT_DEVICE_RULES)}


def test_memory() -> None:
    r = resources(memory=256 << 20, memory_reservation=128 << 20, memory_swap=512 << 20, memory_swappiness=10,
                  oom_kill_disable=True)  # fmt: skip
    assert r["memory"] == {
        "limit": 256 << 20, "reservation": 128 << 20, "swap": 512 << 20, "swappiness": 10, "disableOOMKiller": True,
    }  # fmt: skip
    assert resources(memory=256 << 20, memory_swap=-1)["memory"] == {"limit": 256 << 20, "swap": -1}
    assert "memory" not in resources(memory_swappiness=-1)


def test_cpu() -> None:
    assert resources(nano_cpus=1_500_000_000)["cpu"] == {"quota": 150000, "period": 100000}
    r = resources(cpu_shares=512, cpu_quota=50000, cpu_period=200000, cpuset_cpus="0-1", cpuset_mems="0",
                  cpu_realtime_runtime=950000, cpu_realtime_period=1000000)  # fmt: skip
    assert r["cpu"] == {
        "shares": 512, "quota": 50000, "period": 200000, "realtimeRuntime": 950000, "realtimePeriod": 1000000,
        "cpus": "0-1", "mems": "0",
    }  # fmt: skip
    with pytest.raises(
        InvalidArgument, match=r"invalid CPU shares \(-1\): value must be a positive integer"
    ):
        resources(cpu_shares=-1)


def test_pids() -> None:
    assert resources(pids_limit=100)["pids"] == {"limit": 100}
    assert resources(pids_limit=0)["pids"] == {"limit": -1}
    assert resources(pids_limit=-1)["pids"] == {"limit": -1}
    assert "pids" not in resources(pids_limit=None)


def test_block_io_uses_the_host_device_numbers() -> None:
    r = resources(
        blkio_weight=300,
        blkio_weight_device=[BlkioDevice("/dev/sda", 200)],
        blkio_device_read_bps=[ThrottleDevice("/dev/disk0", 1 << 20)],
        blkio_device_write_bps=[ThrottleDevice("/dev/sdb", 2 << 20)],
        blkio_device_read_iops=[ThrottleDevice("/dev/sda", 100)],
        blkio_device_write_iops=[ThrottleDevice("/dev/sdb", 200)],
    )
    assert r["blockIO"] == {
        "weight": 300,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1 << 20}],
        "throttleWriteBpsDevice": [{"major": 8, "minor": 16, "rate": 2 << 20}],
        "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 200}],
    }


def test_block_io_missing_or_wrong_device() -> None:
    with pytest.raises(
        InvalidArgument,
        match="--device-read-bps '/dev/nvme9': stat /dev/nvme9: no such file or directory",
    ):
        resources(blkio_device_read_bps=[ThrottleDevice("/dev/nvme9", 1)])
    with pytest.raises(
        InvalidArgument, match="--blkio-weight-device '/dev/ttyUSB0': not a block device"
    ):
        resources(blkio_weight_device=[BlkioDevice("/dev/ttyUSB0", 10)])


def test_device_mapping() -> None:
    spec = build_spec(
        spec_input(
            container(
                resources=Resources(devices=[DeviceMapping("/dev/serial", "/dev/ttyS9", "rw")])
            ),
            host=HOST,
        )
    )
    assert spec["linux"]["devices"] == [
        {
            "path": "/dev/ttyS9",
            "type": "c",
            "major": 188,
            "minor": 0,
            "fileMode": 0o660,
            "uid": 0,
            "gid": 20,
        }
    ]
    assert spec["linux"]["resources"]["devices"][-1] == {
        "allow": True, "type": "c", "major": 188, "minor": 0, "access": "rw",
    }  # fmt: skip


def test_device_directory_adds_each_node_below() -> None:
    spec = build_spec(
        spec_input(
            container(resources=Resources(devices=[DeviceMapping("/dev/snd", "/dev/snd", "rwm")])),
            host=HOST,
        )
    )
    assert [d["path"] for d in spec["linux"]["devices"]] == ["/dev/snd/pcmC0D0p"]


@pytest.mark.parametrize("path", ["/dev/nope", "/etc/passwd"])
def test_device_that_is_missing_or_not_a_device(path: str) -> None:
    with pytest.raises(
        InvalidArgument,
        match=f'error gathering device information while adding custom device "{path}"',
    ):
        build_spec(
            spec_input(
                container(resources=Resources(devices=[DeviceMapping(path, path, "rwm")])),
                host=HOST,
            )
        )


def test_device_cgroup_rules() -> None:
    r = resources(device_cgroup_rules=["c 1:3 rwm", "a *:* m", "b 8:* r"])
    assert r["devices"][-3:] == [  # type: ignore[index]
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": True, "type": "a", "major": -1, "minor": -1, "access": "m"},
        {"allow": True, "type": "b", "major": 8, "minor": -1, "access": "r"},
    ]


@pytest.mark.parametrize("rule", ["c 1:3", "x 1:3 rwm", "c 1:3 rwx", "c a:3 r", "c 1:3 rwmr"])
def test_invalid_device_cgroup_rule(rule: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^invalid device cgroup rule format: '{rule}'$"):
        cgroup_rule(rule)


def test_default_device_rules_deny_first() -> None:
    r = resources()
    assert r["devices"][0] == {"allow": False, "access": "rwm"}  # type: ignore[index]
    assert {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"} in r["devices"]  # type: ignore[operator]


# rlimits


def test_ulimits_become_rlimits() -> None:
    spec = build_spec(
        spec_input(
            container(
                resources=Resources(ulimits=[Ulimit("nofile", 1024, 4096), Ulimit("core", -1, -1)])
            )
        )
    )
    assert spec["process"]["rlimits"] == [
        {"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024},
        {"type": "RLIMIT_CORE", "hard": RLIM_INFINITY, "soft": RLIM_INFINITY},
    ]


def test_bad_ulimits() -> None:
    with pytest.raises(InvalidArgument, match=r"^invalid ulimit type: bogus$"):
        rlimits(Resources(ulimits=[Ulimit("bogus", 1, 1)]))
    with pytest.raises(
        InvalidArgument, match="soft limit must be less than or equal to hard limit: 10 > 5"
    ):
        rlimits(Resources(ulimits=[Ulimit("nproc", 10, 5)]))


def test_rlimit_above_the_callers_hard_limit_is_refused() -> None:
    res = Resources(ulimits=[Ulimit("nofile", 1024, 1048576)])
    with pytest.raises(InvalidArgument) as err:
        build_spec(
            spec_input(container(resources=res), caller_hard_limits={"RLIMIT_NOFILE": 524288})
        )
    assert "ulimit nofile" in err.value.message
    assert "CAP_SYS_RESOURCE" in err.value.message
    assert rlimits(res, {"RLIMIT_NOFILE": RLIM_INFINITY})[0]["hard"] == 1048576
    assert rlimits(res, {"RLIMIT_NPROC": 10})[0]["hard"] == 1048576
