"""Stats added for ``events``: cpuset lists and flags, and blkio's choice of counters
(the first scheduler whose files hold entries, as runc)."""

from __future__ import annotations

from pathlib import Path

from cgroups_fake import write_files

from berth.cgroups._files import parse_list
from berth.cgroups.v1 import blkio, cpuset
from berth.cgroups.v2 import cpuset as cpuset2


def test_parse_list() -> None:
    assert parse_list("0-3,5\n") == [0, 1, 2, 3, 5]
    assert parse_list("") == [] and parse_list("x,1") == [1]


def test_v1_cpuset_stats(tmp_path: Path) -> None:
    g = write_files(tmp_path / "g", {
        "cpuset.cpus": "0-1\n", "cpuset.mems": "0\n", "cpuset.cpu_exclusive": "0\n",
        "cpuset.sched_load_balance": "1\n", "cpuset.sched_relax_domain_level": "-1\n",
    })  # fmt: skip
    st = cpuset.stats(str(g))
    assert st["cpus"] == [0, 1] and st["mems"] == [0]
    assert st["sched_load_balance"] == 1 and st["sched_relax_domain_level"] == -1
    assert st["mem_hardwall"] == 0  # a missing file reads as 0
    assert set(st) == {"cpus", "mems", *cpuset.FLAGS}


def test_v2_cpuset_stats_are_the_effective_lists(tmp_path: Path) -> None:
    g = write_files(tmp_path / "g", {"cpuset.cpus.effective": "1\n", "cpuset.mems.effective": "0\n"})
    assert cpuset2.stats(str(g)) == {"cpus": [1], "mems": [0]}


def test_blkio_stats_skip_empty_scheduler_files(tmp_path: Path) -> None:
    g = write_files(tmp_path / "g", {
        "blkio.bfq.io_serviced_recursive": "Total 0\n",
        "blkio.bfq.io_service_bytes_recursive": "Total 0\n",
        "blkio.throttle.io_serviced_recursive": "254:0 Read 3\n254:0 Write 1\nTotal 4\n",
        "blkio.throttle.io_service_bytes_recursive": "254:0 Read 4096\nTotal 4096\n",
    })  # fmt: skip
    st = blkio.stats(str(g))
    assert st["ioServicedRecursive"] == [
        {"major": 254, "minor": 0, "op": "Read", "value": 3},
        {"major": 254, "minor": 0, "op": "Write", "value": 1},
    ]
    assert st["ioServiceBytesRecursive"] == [{"major": 254, "minor": 0, "op": "Read", "value": 4096}]


def test_blkio_stats_use_bfq_when_it_counts(tmp_path: Path) -> None:
    g = write_files(tmp_path / "g", {
        "blkio.bfq.io_serviced_recursive": "8:0 Read 7\n",
        "blkio.bfq.io_service_bytes_recursive": "8:0 Read 512\n",
        "blkio.throttle.io_serviced_recursive": "8:0 Read 1\n",
    })  # fmt: skip
    assert blkio.stats(str(g))["ioServicedRecursive"] == [{"major": 8, "minor": 0, "op": "Read", "value": 7}]
