"""Bad limits, cgroup paths, capabilities and seccomp rules fail create with the field
named and leave nothing behind: no state directory, no cgroup, no process."""

from __future__ import annotations

import glob
import os

import pytest

from berth.testing.bundles import write_config

pytestmark = pytest.mark.root


def _nothing_left(ctr) -> None:
    assert ctr.rt("state", ctr.id).code != 0
    assert not os.path.exists(os.path.join(ctr.rt.root, ctr.id))
    assert not glob.glob(f"/sys/fs/cgroup/*{ctr.cgroup}"), glob.glob(f"/sys/fs/cgroup/*{ctr.cgroup}")


def _create_fails(ctr, spec) -> str:
    write_config(ctr.bundle, spec)
    r = ctr.create()
    assert r.code != 0, "create succeeded"
    _nothing_left(ctr)
    return r.err


@pytest.mark.parametrize(
    ("resources", "field"),
    [
        ({"memory": {"limit": "lots"}}, "linux.resources.memory.limit"),
        ({"memory": {"limit": 64 << 20, "swap": 32 << 20}}, "linux.resources.memory.swap"),
        ({"cpu": {"shares": 1}}, "linux.resources.cpu.shares"),
        ({"cpu": {"quota": 10, "period": 100000}}, "linux.resources.cpu.quota"),
        ({"cpu": {"cpus": "0-a"}}, "linux.resources.cpu.cpus"),
        ({"pids": {"limit": "x"}}, "linux.resources.pids.limit"),
        ({"blockIO": {"throttleReadBpsDevice": [{"major": 4095, "rate": 1}]}}, "linux.resources.blockIO.throttleReadBpsDevice[0].minor"),
    ],
    ids=["memory-not-a-number", "swap-below-memory", "shares-too-small", "quota-too-small", "cpuset-list", "pids-not-a-number", "blkio-no-minor"],
)
def test_invalid_resource_value_names_the_field(ctr, resources, field):
    spec = ctr.make(["true"])
    spec["linux"]["resources"].update(resources)
    err = _create_fails(ctr, spec)
    if ctr.rt.name == "berth-runtime":
        assert field in err, err


@pytest.mark.parametrize(
    "path",
    ["../../berth-test-escape", "/../../berth-test-escape", "/a/../../../berth-test-escape"],
    ids=["relative", "absolute", "inner-dotdot"],
)
def test_cgroups_path_outside_the_hierarchy_is_refused(ctr, path):
    if ctr.rt.name == "runc":
        pytest.skip("runc cleans '..' away at the hierarchy root and creates /berth-test-escape there; berth refuses")
    spec = ctr.make(["true"], cgroups_path=f"{path}-{os.getpid()}")
    err = _create_fails(ctr, spec)
    assert "linux.cgroupsPath" in err and "escapes the cgroup hierarchy root" in err
    assert not glob.glob(f"/sys/fs/cgroup/*/berth-test-escape-{os.getpid()}")


@pytest.mark.parametrize("capset", ["bounding", "effective", "ambient"])
def test_unknown_capability_is_refused(ctr, capset):
    if ctr.rt.name == "runc":
        pytest.skip("runc warns 'ignoring unknown or unavailable capabilities' and runs the container")
    spec = ctr.make(["true"])
    caps = spec["process"]["capabilities"]
    caps[capset] = [*caps.get(capset, []), "CAP_NO_SUCH_THING"]
    err = _create_fails(ctr, spec)
    assert f"process.capabilities.{capset}" in err and "CAP_NO_SUCH_THING" in err


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}, "linux.seccomp.syscalls[0].action"),
        ({"names": "mkdir", "action": "SCMP_ACT_ERRNO"}, "linux.seccomp.syscalls[0].names"),
        ({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}, "linux.seccomp.syscalls[0].args[0].index"),
        ({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_WAT"}]}, "linux.seccomp.syscalls[0].args[0].op"),
    ],
    ids=["unknown-action", "names-not-a-list", "arg-index-out-of-range", "unknown-operator"],
)
def test_malformed_seccomp_rule_is_refused(ctr, rule, field):
    spec = ctr.make(["true"])
    spec["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}
    err = _create_fails(ctr, spec)
    if ctr.rt.name == "berth-runtime":
        assert field in err, err


def test_seccomp_without_default_action_is_refused(ctr):
    spec = ctr.make(["true"])
    spec["linux"]["seccomp"] = {"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    err = _create_fails(ctr, spec)
    if ctr.rt.name == "berth-runtime":
        assert "linux.seccomp.defaultAction" in err, err
