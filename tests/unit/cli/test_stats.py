"""``berth stats``: docker's arithmetic on the recorded stats JSON (cgroup v1) and on
cgroup v2 shapes, the table, ``--format``, and the stream mode's redraw."""

from __future__ import annotations

import io
import json

import pytest

from berth.cli.commands import stats
from berth.cli.context import Cli

from . import traces
from .apifake import FakeDaemon, daemon

V2 = {
    "name": "/web",
    "id": "f" * 64,
    "cpu_stats": {
        "cpu_usage": {"total_usage": 400_000_000},
        "system_cpu_usage": 20_000_000_000,
        "online_cpus": 4,
    },
    "precpu_stats": {"cpu_usage": {"total_usage": 200_000_000}, "system_cpu_usage": 18_000_000_000},
    "memory_stats": {
        "usage": 110 * 1024 * 1024,
        "limit": 512 * 1024 * 1024,
        "stats": {"inactive_file": 10 * 1024 * 1024, "anon": 1},
    },
    "networks": {
        "eth0": {"rx_bytes": 1500, "tx_bytes": 250},
        "eth1": {"rx_bytes": 500, "tx_bytes": 0},
    },
    "blkio_stats": {
        "io_service_bytes_recursive": [
            {"major": 8, "minor": 0, "op": "read", "value": 4096},
            {"major": 8, "minor": 0, "op": "write", "value": 1_200_000},
            {"major": 8, "minor": 16, "op": "Read", "value": 4096},
        ]
    },
    "pids_stats": {"current": 7},
}


def test_recorded_cgroup_v1_sample() -> None:
    r = stats.row(stats.entry("apic-c1", json.loads(traces.STATS)), True)
    assert r == {
        "BlockIO": "0B / 0B",
        "CPUPerc": "0.00%",
        "Container": "apic-c1",
        "ID": "4727eca3737c",
        "MemPerc": "0.00%",
        "MemUsage": "324KiB / 23.54GiB",
        "Name": "apic-c1",
        "NetIO": "736B / 0B",
        "PIDs": "1",
    }


def test_cgroup_v1_subtracts_total_inactive_file() -> None:
    doc = json.loads(traces.STATS)
    doc["memory_stats"]["stats"]["total_inactive_file"] = 331776 - 2048
    assert stats.entry("x", doc)["mem"] == 2048.0


def test_cgroup_v2_sample() -> None:
    e = stats.entry("web", V2)
    # Δcpu 0.2 s of Δsystem 2 s, on 4 CPUs
    assert e["cpu"] == pytest.approx(40.0)
    r = stats.row(e, False)
    assert r["CPUPerc"] == "40.00%"
    assert r["MemUsage"] == "100MiB / 512MiB"
    assert r["MemPerc"] == "19.53%"
    assert r["NetIO"] == "2kB / 250B"
    assert r["BlockIO"] == "8.19kB / 1.2MB"
    assert r["PIDs"] == "7"
    assert r["ID"] == "f" * 64


def test_cpu_falls_back_to_percpu_count_and_ignores_negative_deltas() -> None:
    doc = json.loads(json.dumps(V2))
    del doc["cpu_stats"]["online_cpus"]
    doc["cpu_stats"]["cpu_usage"]["percpu_usage"] = [1, 1]
    assert stats.entry("w", doc)["cpu"] == pytest.approx(20.0)
    doc["precpu_stats"]["system_cpu_usage"] = 30_000_000_000
    assert stats.entry("w", doc)["cpu"] == 0.0


def test_memory_without_limit_and_usage_below_cache() -> None:
    e = stats.entry(
        "w", {"memory_stats": {"usage": 100, "stats": {"inactive_file": 500}}, "name": "/"}
    )
    assert e["mem"] == 100.0
    r = stats.row(e, True)
    assert r["MemPerc"] == "0.00%"
    assert r["Name"] == "--"


def test_invalid_entry_shows_dashes() -> None:
    e = stats.entry("w", V2)
    e["invalid"] = True
    r = stats.row(e, True)
    assert (r["CPUPerc"], r["MemUsage"], r["NetIO"], r["PIDs"]) == ("--", "-- / --", "--", "--")


@pytest.fixture(scope="module")
def fake() -> FakeDaemon:
    f = FakeDaemon()
    f.on("GET", "/containers/apic-c1/stats", traces.STATS)
    f.error("GET", "/containers/nosuch/stats", 404, "No such container: nosuch")
    f.stream("GET", "/containers/web/stats", [json.dumps(V2).encode() + b"\n"])
    f.on("GET", "/containers/json", json.dumps([{"Id": "apic-c1"}]))
    with daemon(f):
        yield f  # type: ignore[misc]


def test_no_stream_table(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    fake.seen.clear()
    assert fake.run("stats", "--no-stream", "apic-c1") == 0
    assert fake.targets() == ["GET /v1.41/containers/apic-c1/stats?stream=0"]
    assert capsys.readouterr().out == (
        "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O     BLOCK I/O   PIDS\n"
        "4727eca3737c   apic-c1   0.00%     324KiB / 23.54GiB   0.00%     736B / 0B   0B / 0B     1\n"
    )


def test_no_stream_all_running_with_format(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.seen.clear()
    assert (
        fake.run("stats", "--no-stream", "--format", "{{.Container}}: {{.CPUPerc}} {{.MemPerc}}")
        == 0
    )
    assert fake.targets() == [
        "GET /v1.41/containers/json",
        "GET /v1.41/containers/apic-c1/stats?stream=0",
    ]
    assert capsys.readouterr().out == "apic-c1: 0.00% 0.00%\n"
    assert fake.run("stats", "--no-stream", "--format", "json", "apic-c1") == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(doc) == [
        "BlockIO",
        "CPUPerc",
        "Container",
        "ID",
        "MemPerc",
        "MemUsage",
        "Name",
        "NetIO",
        "PIDs",
    ]


def test_no_stream_errors(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert fake.run("stats", "--no-stream", "apic-c1", "nosuch") == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == "Error response from daemon: No such container: nosuch\n"


def test_stream_mode_redraws(fake: FakeDaemon) -> None:
    out = io.StringIO()
    cli = Cli(f"unix://{fake.path}", out=out, err=io.StringIO())
    try:
        assert (
            stats.stream(cli, ["web"], "table {{.Name}}\t{{.CPUPerc}}", True, True, frames=2) == 0
        )
    finally:
        cli.close()
    frames = out.getvalue().split("\033[2J\033[H")
    assert frames[0] == ""
    assert frames[-1] == "NAME      CPU %\nweb       40.00%\n"
