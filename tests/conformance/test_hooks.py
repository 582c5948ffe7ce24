"""Hooks run in order, at their moment, with the state JSON on stdin."""

from __future__ import annotations

import json
import os

import pytest

from berth.testing.bundles import write_config
from berth.testing.runtimes import reap

pytestmark = pytest.mark.root


def _hook(log: str, kind: str) -> dict:
    # Each hook appends "<kind> <state json>" to the log; the hook itself is busybox sh on the host.
    return {"path": "/bin/busybox", "args": ["sh", "-c", f'printf "%s %s\\n" {kind} "$(cat)" >> {log}']}


def test_hooks_run_in_order_with_state_on_stdin(ctr, tmp_path):
    if ctr.rt.name == "runc":
        pytest.skip("runc 1.1.5 runs poststart hooks during create, before start (the spec says after start)")
    log = str(tmp_path / "hooks.log")
    spec = ctr.make(["cat", "/tmp/hook-ran"])
    kinds = ["prestart", "createRuntime", "poststart", "poststop"]
    spec["hooks"] = {k: [_hook(log, k)] for k in kinds}
    # createContainer and startContainer run in the container's namespaces: the hook's path
    # must resolve there (startContainer) — busybox is at /bin/busybox in both.
    spec["hooks"]["createContainer"] = [_hook(log, "createContainer")]
    # startContainer runs inside the container, before the process: it leaves a file there
    # that the process then prints.
    spec["hooks"]["startContainer"] = [{"path": "/bin/busybox", "args": ["sh", "-c", "echo startContainer-ran > /tmp/hook-ran"]}]
    write_config(ctr.bundle, spec)
    assert ctr.create().code == 0
    with open(log) as f:
        created = [line.split(" ", 1) for line in f.read().splitlines()]
    assert [k for k, _ in created] == ["prestart", "createRuntime", "createContainer"]
    for _, js in created:
        st = json.loads(js)
        assert st["id"] == ctr.id and st["pid"] == ctr.pid and st["bundle"] == ctr.bundle
    ctr.rt.ok("start", ctr.id)
    reap(ctr.pid)
    ctr.rt.ok("delete", ctr.id)
    with open(log) as f:
        kinds_seen = [line.split(" ", 1)[0] for line in f.read().splitlines()]
    assert kinds_seen == ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]
    assert "startContainer-ran" in ctr.output()


def test_failing_prestart_hook_fails_create_and_leaves_nothing(ctr):
    spec = ctr.make(["true"])
    spec["hooks"] = {"prestart": [{"path": "/bin/false"}]}
    write_config(ctr.bundle, spec)
    r = ctr.create()
    assert r.code != 0
    assert ctr.rt("state", ctr.id).code != 0
    assert not os.path.exists(os.path.join(ctr.rt.root, ctr.id))
    assert not os.path.exists(f"/sys/fs/cgroup/memory{ctr.cgroup}")


def test_failing_poststart_hook_is_only_a_warning(ctr):
    if ctr.rt.name == "runc":
        pytest.skip("runc 1.1.5 runs poststart hooks during create and fails it")
    spec = ctr.make(["sleep", "5"])
    spec["hooks"] = {"poststart": [{"path": "/bin/false"}]}
    write_config(ctr.bundle, spec)
    assert ctr.create().code == 0
    r = ctr.rt("start", ctr.id)
    assert r.code == 0, r
    assert ctr.rt.state(ctr.id)["status"] == "running"


def test_hook_timeout(ctr):
    spec = ctr.make(["true"])
    spec["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}]}
    write_config(ctr.bundle, spec)
    r = ctr.create()
    assert r.code != 0
    assert "timed out" in r.err or "timeout" in r.err
