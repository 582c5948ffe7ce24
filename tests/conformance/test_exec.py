"""exec into a running container."""

from __future__ import annotations

import json
import os

import pytest

from berth.testing.runtimes import reap

pytestmark = pytest.mark.root


@pytest.fixture
def running(ctr):
    ctr.make(["sleep", "60"])
    assert ctr.create().code == 0
    ctr.rt.ok("start", ctr.id)
    return ctr


def test_exec_runs_in_the_container_namespaces(running):
    r = running.rt("exec", running.id, "sh", "-c", "readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; cat /proc/1/cmdline | tr '\\0' ' '")
    assert r.code == 0, r
    pidns, mntns, cmd = r.out.splitlines()
    assert pidns == os.readlink(f"/proc/{running.pid}/ns/pid")
    assert mntns == os.readlink(f"/proc/{running.pid}/ns/mnt")
    assert cmd.strip() == "sleep 60"


def test_exec_exit_code(running):
    r = running.rt("exec", running.id, "sh", "-c", "exit 3")
    assert r.code == 3


def test_exec_env_cwd_user(running):
    r = running.rt("exec", "--env", "X=y", "--cwd", "/tmp", "--user", "1000:1000", running.id, "sh", "-c", "echo $X $(pwd) $(id -u)")
    assert r.code == 0, r
    assert r.out.split() == ["y", "/tmp", "1000"]


def test_exec_process_file_and_detach(running, tmp_path):
    proc = {"args": ["sh", "-c", "echo detached > /tmp/marker; sleep 0.2"], "cwd": "/", "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0}}
    pf = tmp_path / "process.json"
    pf.write_text(json.dumps(proc))
    pidfile = tmp_path / "exec.pid"
    r = running.rt("exec", "--process", str(pf), "--detach", "--pid-file", str(pidfile), running.id)
    assert r.code == 0, r
    pid = int(pidfile.read_text())
    assert reap(pid) == 0
    r = running.rt("exec", running.id, "cat", "/tmp/marker")
    assert r.out == "detached\n"


def test_exec_joins_the_cgroup(running):
    r = running.rt("exec", running.id, "cat", "/proc/self/cgroup")
    assert r.code == 0
    mem = [ln for ln in r.out.splitlines() if ":memory:" in ln]
    assert mem and mem[0].endswith(":/"), r.out


def test_exec_command_not_found(running):
    r = running.rt("exec", running.id, "no-such-binary")
    assert r.code != 0
    assert "executable file not found" in r.err or "no such file" in r.err


def test_exec_in_stopped_container_is_refused(ctr):
    ctr.make(["true"])
    ctr.create()
    ctr.rt.ok("start", ctr.id)
    reap(ctr.pid)
    r = ctr.rt("exec", ctr.id, "true")
    assert r.code != 0
