"""Limits and confinement, shown from inside containers: memory (OOM kill, reported by
``events``), pids (a bounded fork bomb), CPU quota (measured), blkio throttles,
capabilities, a seccomp errno, masked paths and a read-only /proc/sys."""

from __future__ import annotations

import os
import time

import pytest

from berth.testing.bundles import write_config
from berth.testing.runtimes import reap

from .probes import Events, cgroup_file, flat, root_disk, wait_for

pytestmark = pytest.mark.root

MiB = 1 << 20


def _caps(status: str) -> dict[str, int]:
    return {k: int(v, 16) for k, v in (line.split(":\t") for line in status.splitlines() if line.startswith("Cap"))}


def test_memory_limit_oom_kills_and_events_report_it(ctr):
    spec = ctr.make(["sh", "-c",
                     "while [ ! -e /tmp/go ]; do sleep 0.02; done;"
                     " dd if=/dev/zero of=/dev/null bs=64M count=1; echo dd=$?; exec sleep 30"])  # fmt: skip
    spec["linux"]["resources"]["memory"] = {"limit": 16 * MiB, "swap": 16 * MiB}
    write_config(ctr.bundle, spec)
    assert ctr.create().code == 0
    ctr.rt.ok("start", ctr.id)
    assert int(cgroup_file(ctr, "memory", "memory.limit_in_bytes")) == 16 * MiB
    ev = Events(ctr.rt, "--interval", "100ms", ctr.id)
    try:
        first = ev.until("stats")
        assert first["id"] == ctr.id
        assert first["data"]["memory"]["usage"]["limit"] == 16 * MiB
        open(os.path.join(ctr.bundle, "rootfs", "tmp", "go"), "w").close()
        oom = ev.until("oom")
        assert oom == {"type": "oom", "id": ctr.id}
    finally:
        ev.close()
    # dd (64 MiB buffer) was killed by the kernel (SIGKILL: 128 + 9); the init survived.
    wait_for(lambda: "dd=" in ctr.output(), what="dd to finish")
    assert "dd=137" in ctr.output()
    assert flat(cgroup_file(ctr, "memory", "memory.oom_control"))["oom_kill"] >= 1
    assert ctr.rt.state(ctr.id)["status"] == "running"


def test_pids_limit_stops_a_fork_bomb(ctr):
    # At most 200 forks, in a subshell that dies at the first refused fork; the init then
    # replaces itself (exec, no fork) and the test kills the container.
    spec = ctr.make(["sh", "-c",
                     "(i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done; echo all-forked);"
                     " echo bomb-over; exec sleep 30"])  # fmt: skip
    spec["linux"]["resources"]["pids"] = {"limit": 20}
    write_config(ctr.bundle, spec)
    assert ctr.create().code == 0
    ctr.rt.ok("start", ctr.id)
    wait_for(lambda: "bomb-over" in ctr.output(), what="the fork loop to stop")
    current = int(cgroup_file(ctr, "pids", "pids.current"))
    refused = flat(cgroup_file(ctr, "pids", "pids.events")).get("max", 0)
    with open(ctr.out + ".err") as f:
        err = f.read()
    ctr.rt.ok("delete", "--force", ctr.id)
    reap(ctr.pid)
    assert "all-forked" not in ctr.output()
    assert "can't fork" in err
    assert current <= 20
    assert refused >= 1


def test_cpu_quota_of_half_a_core_is_enforced(ctr):
    # Two busy loops would use both CPUs; the quota allows 50 ms every 100 ms.
    spec = ctr.make(["sh", "-c", "while :; do :; done & while :; do :; done"])
    spec["linux"]["resources"]["cpu"] = {"quota": 50000, "period": 100000}
    write_config(ctr.bundle, spec)
    assert ctr.create().code == 0
    ctr.rt.ok("start", ctr.id)
    time.sleep(0.3)
    u0, t0 = int(cgroup_file(ctr, "cpuacct", "cpuacct.usage")), time.monotonic()
    time.sleep(1.0)
    u1, t1 = int(cgroup_file(ctr, "cpuacct", "cpuacct.usage")), time.monotonic()
    throttled = flat(cgroup_file(ctr, "cpu", "cpu.stat")).get("nr_throttled", 0)
    ctr.rt.ok("delete", "--force", ctr.id)
    reap(ctr.pid)
    cores = (u1 - u0) / 1e9 / (t1 - t0)
    print(f"\n{ctr.rt.name}: cpu quota 0.5 core measured {cores:.3f} cores")
    assert 0.35 <= cores <= 0.65, cores
    assert throttled > 0


def test_blkio_throttle_is_visible_inside(ctr):
    major, minor = root_disk()
    spec = ctr.make(["cat", "/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device",
                     "/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device"])  # fmt: skip
    spec["linux"]["resources"]["blockIO"] = {
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": MiB}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}],
    }
    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    assert out.split("\n")[:2] == [f"{major}:{minor} {MiB}", f"{major}:{minor} 100"]


def test_capabilities_are_exactly_the_configured_ones(ctr):
    caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]  # bits 0, 5, 10
    spec = ctr.make(["grep", "^Cap", "/proc/self/status"])
    spec["process"]["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    write_config(ctr.bundle, spec)
    got = _caps(ctr.run_ok())
    want = 1 << 0 | 1 << 5 | 1 << 10
    assert got == {"CapInh": 0, "CapPrm": want, "CapEff": want, "CapBnd": want, "CapAmb": 0}


def test_ambient_capability_for_a_non_root_user(ctr):
    caps = ["CAP_NET_BIND_SERVICE"]
    spec = ctr.make(["sh", "-c", "id -u; grep ^Cap /proc/self/status"])
    spec["process"]["user"] = {"uid": 1000, "gid": 1000}
    spec["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    uid, _, status = out.partition("\n")
    assert uid == "1000"
    assert _caps(status) == {"CapInh": 1 << 10, "CapPrm": 1 << 10, "CapEff": 1 << 10, "CapBnd": 1 << 10, "CapAmb": 1 << 10}


def test_seccomp_rule_returns_the_configured_errno(ctr):
    spec = ctr.make(["sh", "-c",
                     "mkdir /tmp/denied; echo mkdir=$?; chmod 600 /etc/hostname; echo chmod=$?;"
                     " touch /tmp/allowed && echo touch=$?"])  # fmt: skip
    spec["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["chmod", "fchmodat", "fchmod"], "action": "SCMP_ACT_ERRNO"},
        ],
    }
    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    with open(ctr.out + ".err") as f:
        err = f.read()
    assert out.split() == ["mkdir=1", "chmod=1", "touch=0"]
    assert "mkdir: can't create directory '/tmp/denied': Function not implemented" in err  # ENOSYS = 38
    assert "Operation not permitted" in err  # SCMP_ACT_ERRNO without errnoRet: EPERM
    rootfs = os.path.join(ctr.bundle, "rootfs")
    assert not os.path.exists(os.path.join(rootfs, "tmp", "denied"))
    assert os.path.exists(os.path.join(rootfs, "tmp", "allowed"))


def test_masked_paths_are_empty_and_unwritable(ctr):
    files = [p for p in ("/proc/keys", "/proc/timer_list", "/proc/kcore", "/proc/sched_debug") if os.path.exists(p)]
    assert files and os.listdir("/sys/firmware"), "nothing to mask on this host"
    script = "".join(f"echo {p} $(stat -c %F:%t:%T {p}) $(cat {p} | wc -c); " for p in files)
    script += "echo firmware $(ls -A /sys/firmware | wc -l); touch /sys/firmware/x 2>/dev/null; echo touch=$?"
    ctr.make(["sh", "-c", script], seccomp=True)
    lines = ctr.run_ok().splitlines()
    for p, line in zip(files, lines, strict=False):
        # a masked file is /dev/null bound over it: character device 1:3, empty
        assert line == f"{p} character special file:1:3 0", line
    assert lines[len(files):] == ["firmware 0", "touch=1"]


def test_proc_sys_is_read_only(ctr):
    ctr.make(["sh", "-c",
              "grep ' /proc/sys ' /proc/self/mounts | cut -d' ' -f4 | cut -d, -f1;"
              " echo evil > /proc/sys/kernel/hostname; echo write=$?; hostname;"
              " echo 3 > /proc/sys/vm/drop_caches; echo drop=$?"], seccomp=True)  # fmt: skip
    out = ctr.run_ok()
    with open(ctr.out + ".err") as f:
        err = f.read()
    assert out.split() == ["ro", "write=1", "berth", "drop=1"]
    assert "Read-only file system" in err
