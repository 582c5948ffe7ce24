"""Container ops without root: a stats reading from a fake cgroup v1 tree and /proc,
Docker's stats JSON made of two readings, ps output filtering and update's merge."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from berth import cgroups, errdefs
from berth.api.container_ops import stats_wire
from berth.engine.containers import ops
from berth.engine.containers.model import (
    Container,
    ContainerConfig,
    HostConfig,
    Resources,
    RestartPolicy,
    State,
)

CID = "c" * 64
MAX = 9223372036854771712


def _container(running: bool = True, **hc: Any) -> Container:
    return Container(
        id=CID,
        name="web",
        created="2026-01-01T00:00:00Z",
        path="sleep",
        args=["300"],
        config=ContainerConfig(image="busybox"),
        image="sha256:" + "0" * 64,
        host_config=HostConfig(network_mode="bridge", **hc),
        state=State(
            status="running" if running else "exited", running=running, pid=42 if running else 0
        ),
    )


class FakeService:
    """The parts of ContainerService the ops use, over no runtime at all."""

    def __init__(self, c: Container) -> None:
        self.c = c
        self.saved = 0
        self.events: list[str] = []
        self.cfg = type("Cfg", (), {"ncpu": 2, "default_runtime": "berth-runtime"})()
        self._lock = threading.RLock()

    def get(self, ref: str) -> Container:
        if ref not in (self.c.id, self.c.name):
            raise errdefs.NotFound(f"No such container: {ref}")
        return self.c

    def lock(self, cid: str) -> threading.RLock:
        return self._lock

    def cgroups_path(self, c: Container) -> str:
        return f"/berth/{c.id}"

    @property
    def store(self) -> FakeService:
        return self

    def save(self, c: Container) -> None:
        self.saved += 1

    def _event(self, c: Container, action: str, **extra: str) -> None:
        self.events.append(action)


def _write(d: Path, files: dict[str, str]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)


def _fake_host(tmp_path: Path, usage: int = 28639196) -> tuple[cgroups.Setup, str]:
    root = tmp_path / "cgroup"
    rel = f"berth/{CID}"
    _write(root / "cpuacct" / rel, {
        "cpuacct.usage": f"{usage}\n",
        "cpuacct.usage_percpu": "2714530 25924666\n",
        "cpuacct.stat": "user 1\nsystem 1\n",
    })  # fmt: skip
    _write(root / "cpu" / rel, {"cpu.stat": "nr_periods 3\nnr_throttled 1\nthrottled_time 500\n"})
    _write(root / "memory" / rel, {
        "memory.usage_in_bytes": "331776\n",
        "memory.max_usage_in_bytes": "4079616\n",
        "memory.limit_in_bytes": f"{MAX}\n",
        "memory.failcnt": "0\n",
        "memory.stat": f"cache 4096\nrss 53248\nhierarchical_memory_limit {MAX}\n"
        "total_cache 4096\ntotal_rss 53248\nswap 0\n",
    })  # fmt: skip
    _write(root / "pids" / rel, {"pids.current": "1\n", "pids.max": "max\n"})
    _write(root / "blkio" / rel, {
        "blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Total 4096\nTotal 4096\n",
        "blkio.throttle.io_serviced_recursive": "8:0 Read 1\nTotal 1\n",
    })  # fmt: skip
    v1 = {name: str(root / name) for name in ("cpuacct", "cpu", "memory", "pids", "blkio")}
    proc = tmp_path / "proc"
    _write(proc, {
        "stat": "cpu  100 0 50 1000 0 0 0 0 0 0\ncpu0 50 0 25 500 0 0 0 0 0 0\n"
        "cpu1 50 0 25 500 0 0 0 0 0 0\nintr 0\n",
        "meminfo": "MemTotal:       24684084 kB\nMemFree: 1 kB\n",
    })  # fmt: skip
    _write(proc / "42" / "net", {
        "dev": "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
        "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n"
        "  eth0:     736       8    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n",
    })  # fmt: skip
    return cgroups.Setup("v1", str(root), v1), str(proc)


def test_a_reading_from_a_v1_tree_becomes_dockers_stats_json(tmp_path: Path) -> None:
    setup, proc = _fake_host(tmp_path)
    c = _container()
    svc: Any = FakeService(c)
    first = ops.stats_sample(svc, c, setup, proc)
    _fake_host(tmp_path, usage=30000000)
    second = ops.stats_sample(svc, c, setup, proc)
    doc = stats_wire(second, first)

    assert list(doc) == [
        "read", "preread", "pids_stats", "blkio_stats", "num_procs", "storage_stats",
        "cpu_stats", "precpu_stats", "memory_stats", "name", "id", "networks",
    ]  # fmt: skip
    assert doc["name"] == "/web" and doc["id"] == CID
    assert doc["pids_stats"] == {"current": 1}
    assert doc["blkio_stats"]["io_service_bytes_recursive"] == [
        {"major": 8, "minor": 0, "op": "Read", "value": 4096},
        {"major": 8, "minor": 0, "op": "Total", "value": 4096},
    ]
    assert doc["blkio_stats"]["sectors_recursive"] == []
    ticks_ns = 1_000_000_000 // 100
    cpu = doc["cpu_stats"]
    assert cpu["cpu_usage"] == {
        "total_usage": 30000000,
        "percpu_usage": [2714530, 25924666],
        "usage_in_kernelmode": ticks_ns,
        "usage_in_usermode": ticks_ns,
    }
    assert cpu["system_cpu_usage"] == 1150 * ticks_ns and cpu["online_cpus"] == 2
    assert cpu["throttling_data"] == {"periods": 3, "throttled_periods": 1, "throttled_time": 500}
    assert doc["precpu_stats"]["cpu_usage"]["total_usage"] == 28639196
    mem = doc["memory_stats"]
    assert list(mem) == ["usage", "max_usage", "stats", "limit"]
    assert mem["usage"] == 331776 and mem["max_usage"] == 4079616
    assert mem["limit"] == 24684084 * 1024  # no limit set: the machine's memory
    assert mem["stats"]["rss"] == 53248 and mem["stats"]["total_rss"] == 53248
    assert mem["stats"]["hierarchical_memory_limit"] == MAX
    assert "swap" not in mem["stats"] and list(mem["stats"]) == sorted(mem["stats"])
    assert doc["networks"] == {"eth0": {
        "rx_bytes": 736, "rx_packets": 8, "rx_errors": 0, "rx_dropped": 0,
        "tx_bytes": 0, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0,
    }}  # fmt: skip
    assert doc["preread"] != "0001-01-01T00:00:00Z" and doc["read"] >= doc["preread"]


def test_a_stopped_container_reads_as_zeros(tmp_path: Path) -> None:
    setup, proc = _fake_host(tmp_path)
    c = _container(running=False)
    sample = ops.stats_sample(FakeService(c), c, setup, proc)  # type: ignore[arg-type]
    doc = stats_wire(sample, None)
    assert doc["read"] == doc["preread"] == "0001-01-01T00:00:00Z"
    assert doc["memory_stats"] == {} and doc["pids_stats"] == {}
    assert (
        doc["cpu_stats"]
        == doc["precpu_stats"]
        == {
            "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        }
    )
    assert doc["blkio_stats"]["io_service_bytes_recursive"] is None
    assert "networks" not in doc


def test_host_network_has_no_network_stats(tmp_path: Path) -> None:
    setup, proc = _fake_host(tmp_path)
    c = _container()
    c.host_config.network_mode = "host"
    assert "networks" not in stats_wire(ops.stats_sample(FakeService(c), c, setup, proc), None)  # type: ignore[arg-type]


PS = """UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root        6875    6845  0 21:04 ?        00:00:00 sleep 300
root           -       -  0 21:04 -        00:00:00 -
root        7000       1  0 21:05 ?        00:00:00 other
root           -       -  0 21:05 -        00:00:00 -
"""


def test_ps_output_keeps_the_containers_processes_and_their_threads() -> None:
    titles, rows = ops.parse_ps_output(PS, [6875])
    assert titles == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert rows == [
        ["root", "6875", "6845", "0", "21:04", "?", "00:00:00", "sleep 300"],
        ["root", "-", "-", "0", "21:04", "-", "00:00:00", "-"],
    ]
    with pytest.raises(errdefs.Internal, match="Couldn't find PID field"):
        ops.parse_ps_output("USER COMMAND\nroot sh\n", [1])


def test_update_merges_non_zero_fields_and_checks_like_docker() -> None:
    c = _container(running=False)
    c.host_config.resources = Resources(memory=64 << 20, memory_swap=128 << 20, cpu_shares=1024)
    svc: Any = FakeService(c)
    assert ops.update(svc, CID, Resources(cpu_shares=512, pids_limit=-1)) == []
    r = c.host_config.resources
    assert (r.memory, r.memory_swap, r.cpu_shares, r.pids_limit) == (64 << 20, 128 << 20, 512, 0)
    assert svc.events == ["update"]
    ops.update(svc, CID, Resources(), RestartPolicy(name="on-failure", maximum_retry_count=2))
    assert c.host_config.restart_policy == RestartPolicy("on-failure", 2)
    with pytest.raises(
        errdefs.Conflict, match=f"Cannot update container {CID}: Memory limit should be smaller"
    ):
        ops.update(svc, CID, Resources(memory=256 << 20))
    assert c.host_config.resources.memory == 64 << 20
    ops.update(svc, CID, Resources(memory_swap=-1))  # swap alone is fine in an update
    assert c.host_config.resources.memory_swap == -1
    with pytest.raises(errdefs.InvalidArgument, match="Minimum memory limit allowed is 6MB"):
        ops.update(svc, CID, Resources(memory=1 << 20, memory_swap=-1))
    c.host_config.resources.nano_cpus = 500_000_000
    with pytest.raises(
        errdefs.Conflict, match="CPU Quota cannot be updated as NanoCPUs has already been set"
    ):
        ops.update(svc, CID, Resources(cpu_quota=50000))
    c.host_config.auto_remove = True
    with pytest.raises(errdefs.Conflict, match="AutoRemove is enabled"):
        ops.update(svc, CID, Resources(), RestartPolicy(name="always"))
    assert c.host_config.restart_policy == RestartPolicy("on-failure", 2)
