"""``update`` changes a live container's limits (in the files, and in effect);
``events`` prints runc-shaped stats once or as a stream. The OOM event is shown in
test_confinement.py (the memory limit test)."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from berth.testing.bundles import write_config
from berth.testing.runtimes import reap

from .probes import Events, cgroup_file, flat

pytestmark = pytest.mark.root

MiB = 1 << 20


def _running(ctr, resources: dict | None = None) -> None:
    spec = ctr.make(["sleep", "30"])
    spec["linux"]["resources"].update(resources or {
        "memory": {"limit": 64 * MiB, "swap": 128 * MiB},
        "cpu": {"quota": 100000, "period": 100000, "shares": 1024},
        "pids": {"limit": 50},
    })  # fmt: skip
    write_config(ctr.bundle, spec)
    assert ctr.create().code == 0
    ctr.rt.ok("start", ctr.id)


def _limits(ctr) -> dict[str, str]:
    return {
        "memory": cgroup_file(ctr, "memory", "memory.limit_in_bytes"),
        "memsw": cgroup_file(ctr, "memory", "memory.memsw.limit_in_bytes"),
        "pids": cgroup_file(ctr, "pids", "pids.max"),
        "quota": cgroup_file(ctr, "cpu", "cpu.cfs_quota_us"),
        "period": cgroup_file(ctr, "cpu", "cpu.cfs_period_us"),
        "shares": cgroup_file(ctr, "cpu", "cpu.shares"),
    }


def test_update_flags_change_the_limits(ctr):
    _running(ctr)
    ctr.rt.ok("update", "--memory", "32m", "--pids-limit", "30", "--cpu-quota", "50000", "--cpu-share", "512", ctr.id)
    assert _limits(ctr) == {
        "memory": str(32 * MiB), "memsw": str(128 * MiB), "pids": "30",
        "quota": "50000", "period": "100000", "shares": "512",
    }  # fmt: skip
    # a later update keeps what it does not name (the saved limits are merged)
    ctr.rt.ok("update", "--cpu-period", "200000", ctr.id)
    assert _limits(ctr)["quota"] == "50000" and _limits(ctr)["period"] == "200000"
    ctr.rt.ok("update", "--pids-limit", "-1", "--memory", "-1", ctr.id)
    lim = _limits(ctr)
    assert lim["pids"] == "max" and int(lim["memory"]) > 1 << 60 and int(lim["memsw"]) > 1 << 60


def test_update_resources_from_stdin(ctr):
    _running(ctr)
    doc = {"memory": {"limit": 16 * MiB}, "pids": {"limit": 7}, "cpu": {"cpus": "0"}}
    p = subprocess.run(
        [ctr.rt.binary, "--root", ctr.rt.root, "update", "-r", "-", ctr.id],
        input=json.dumps(doc), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    lim = _limits(ctr)
    assert (lim["memory"], lim["pids"], lim["shares"]) == (str(16 * MiB), "7", "1024")
    assert cgroup_file(ctr, "cpuset", "cpuset.cpus") == "0"


def test_update_takes_effect_inside(ctr):
    _running(ctr, {"pids": {"limit": 100}})
    bg = "sleep 30 >/dev/null 2>&1 &"
    assert "started" in ctr.rt.ok("exec", ctr.id, "sh", "-c", f"{bg} {bg} echo started").out
    assert int(cgroup_file(ctr, "pids", "pids.current")) == 3  # the init and two sleeps
    refused = flat(cgroup_file(ctr, "pids", "pids.events")).get("max", 0)
    ctr.rt.ok("update", "--pids-limit", "4", ctr.id)
    assert cgroup_file(ctr, "pids", "pids.max") == "4"
    # One more process fits (the exec'd shell), its two children do not.
    r = ctr.rt("exec", ctr.id, "sh", "-c", f"{bg} {bg} echo all-started")
    assert "all-started" not in r.out
    assert flat(cgroup_file(ctr, "pids", "pids.events")).get("max", 0) > refused
    assert int(cgroup_file(ctr, "pids", "pids.current")) <= 4


def test_update_with_an_invalid_value_changes_nothing(ctr):
    _running(ctr)
    before = _limits(ctr)
    r = ctr.rt("update", "--cpu-share", "1", ctr.id)
    assert r.code != 0
    r2 = ctr.rt("update", "--memory", "lots", ctr.id)
    assert r2.code != 0
    if ctr.rt.name == "runc":
        pytest.skip("runc writes cpu.shares before the kernel's clamp is noticed and leaves it at 2")
    assert "linux.resources.cpu.shares" in r.err and "--memory" in r2.err
    assert _limits(ctr) == before


def test_update_of_a_stopped_container_fails(ctr):
    _running(ctr)
    ctr.rt.ok("kill", ctr.id, "KILL")
    reap(ctr.pid)
    r = ctr.rt("update", "--memory", "32m", ctr.id)
    assert r.code != 0 and "container not running" in r.err


def test_events_stats_has_runc_shape(ctr):
    _running(ctr)
    r = ctr.rt.ok("events", "--stats", ctr.id)
    lines = r.out.splitlines()
    assert len(lines) == 1
    ev = json.loads(lines[0])
    assert (ev["type"], ev["id"]) == ("stats", ctr.id)
    data = ev["data"]
    assert set(data) == {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"}
    assert data["cpu"]["usage"]["total"] > 0 and len(data["cpu"]["usage"]["percpu"]) >= 1
    assert {"kernel", "user"} <= set(data["cpu"]["usage"])
    assert set(data["cpu"]["throttling"]) <= {"periods", "throttledPeriods", "throttledTime"}
    assert data["cpuset"]["cpus"] and all(isinstance(c, int) for c in data["cpuset"]["cpus"])
    assert data["memory"]["usage"]["limit"] == 64 * MiB and data["memory"]["usage"]["usage"] > 0
    assert data["memory"]["swap"]["limit"] == 128 * MiB
    assert "failcnt" in data["memory"]["usage"] and "cache" in data["memory"]["raw"]
    assert data["pids"] == {"current": 1, "limit": 50}
    assert data["intel_rdt"] == {} and data["network_interfaces"] is None


def test_events_streams_stats_every_interval(ctr):
    _running(ctr)
    ev = Events(ctr.rt, "--interval", "200ms", ctr.id)
    try:
        t0 = time.monotonic()
        got = [ev.until("stats", timeout=5) for _ in range(3)]
        took = time.monotonic() - t0
    finally:
        ev.close()
    assert all(e["id"] == ctr.id and e["data"]["pids"]["limit"] == 50 for e in got)
    assert 0.35 < took < 3, took


def test_events_of_a_stopped_container_fail(ctr):
    _running(ctr)
    ctr.rt.ok("kill", ctr.id, "KILL")
    reap(ctr.pid)
    r = ctr.rt("events", "--stats", ctr.id)
    assert r.code != 0 and "is not running" in r.err


def test_events_stream_ends_when_the_container_is_deleted(ctr):
    _running(ctr)
    ev = Events(ctr.rt, "--interval", "100ms", ctr.id)
    try:
        ev.until("stats")
        ctr.rt.ok("delete", "--force", ctr.id)
        reap(ctr.pid)
        assert ev.p.wait(timeout=5) == 0
    finally:
        ev.close()


def test_bad_interval_is_refused(ctr):
    _running(ctr)
    for bad in ("0s", "soon", "-1s"):
        r = ctr.rt("events", "--interval", bad, ctr.id)
        assert r.code != 0, bad
