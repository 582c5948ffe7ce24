"""create / start / state / kill / delete, exit codes, pid files and the error strings
containerd matches."""

from __future__ import annotations

import os
import signal

import pytest

from berth.testing.runtimes import reap

pytestmark = pytest.mark.root


def test_create_start_state_delete_walks_the_statuses(ctr):
    ctr.make(["sleep", "30"])
    assert ctr.create().code == 0
    st = ctr.rt.state(ctr.id)
    assert st["status"] == "created"
    assert st["id"] == ctr.id and st["pid"] > 0 and st["bundle"] == ctr.bundle
    assert st["ociVersion"].startswith("1.")
    ctr.rt.ok("start", ctr.id)
    assert ctr.rt.state(ctr.id)["status"] == "running"
    ctr.rt.ok("kill", ctr.id, "KILL")
    assert reap(ctr.pid) == 128 + 9
    assert ctr.rt.state(ctr.id)["status"] == "stopped"
    ctr.rt.ok("delete", ctr.id)
    r = ctr.rt("state", ctr.id)
    assert r.code != 0 and "does not exist" in r.err


def test_process_does_not_run_before_start(ctr, tmp_path):
    ctr.make(["sh", "-c", "echo started"])
    assert ctr.create().code == 0
    assert ctr.output() == ""
    ctr.rt.ok("start", ctr.id)
    assert reap(ctr.pid) == 0
    assert ctr.output() == "started\n"


def test_exit_code_is_the_process_code(ctr):
    ctr.make(["sh", "-c", "exit 7"])
    code, _ = ctr.run_to_exit()
    assert code == 7


def test_run_exits_with_the_process_code_and_cleans_up(ctr):
    ctr.make(["sh", "-c", "echo out; echo err >&2; exit 3"])
    r = ctr.rt("run", "--bundle", ctr.bundle, ctr.id)
    assert r.code == 3, r
    assert r.out == "out\n" and r.err.endswith("err\n")
    assert ctr.rt("state", ctr.id).code != 0


def test_pid_file_holds_the_bare_number(ctr, tmp_path):
    ctr.make(["sleep", "30"])
    pidfile = tmp_path / "init.pid"
    assert ctr.create("--pid-file", str(pidfile)).code == 0
    text = pidfile.read_text()
    assert text == str(ctr.pid) and not text.endswith("\n")


def test_kill_accepts_signal_names_and_numbers(ctr):
    ctr.make(["sh", "-c", "trap 'echo got-usr1' USR1; trap 'echo got-term; exit 4' TERM; while true; do sleep 0.05; done"])
    ctr.create()
    ctr.rt.ok("start", ctr.id)
    import time

    time.sleep(0.3)
    deadline = time.monotonic() + 10
    # Standard signals do not queue: send each form only after the last was handled.
    for n, form in enumerate(("SIGUSR1", "USR1", str(int(signal.SIGUSR1))), start=1):
        ctr.rt.ok("kill", ctr.id, form)
        while ctr.output().count("got-usr1") < n and time.monotonic() < deadline:
            time.sleep(0.02)
    assert ctr.output().count("got-usr1") == 3
    ctr.rt.ok("kill", ctr.id)  # SIGTERM by default (PID 1 ignores it unless it has a handler)
    assert reap(ctr.pid) == 4
    assert "got-term" in ctr.output()


def test_kill_all_signals_every_process(ctr):
    ctr.make(["sh", "-c", "sleep 100 & sleep 100 & wait"])
    ctr.create()
    ctr.rt.ok("start", ctr.id)
    import time

    time.sleep(0.3)
    r = ctr.rt.ok("ps", "--format", "json", ctr.id)
    import json

    assert len(json.loads(r.out)) == 3
    ctr.rt.ok("kill", "--all", ctr.id, "KILL")
    assert reap(ctr.pid) == 137


def test_unknown_container_does_not_exist(rt):
    for verb in (["state"], ["start"], ["kill"], ["delete"], ["pause"], ["ps"]):
        r = rt(*verb, "berth-test-nosuch")
        assert r.code != 0
        assert "does not exist" in r.err, (verb, r)


def test_signalling_a_stopped_container_is_not_running(ctr):
    ctr.make(["true"])
    ctr.create()
    ctr.rt.ok("start", ctr.id)
    reap(ctr.pid)
    r = ctr.rt("kill", ctr.id, "TERM")
    assert r.code != 0 and "not running" in r.err


def test_start_twice_is_refused(ctr):
    ctr.make(["sleep", "30"])
    ctr.create()
    ctr.rt.ok("start", ctr.id)
    r = ctr.rt("start", ctr.id)
    assert r.code != 0


def test_delete_running_needs_force(ctr):
    ctr.make(["sleep", "30"])
    ctr.create()
    ctr.rt.ok("start", ctr.id)
    assert ctr.rt("delete", ctr.id).code != 0
    ctr.rt.ok("delete", "--force", ctr.id)
    assert reap(ctr.pid) == 137
    assert ctr.rt("state", ctr.id).code != 0


def test_delete_of_a_created_container_kills_its_init(ctr):
    ctr.make(["sleep", "30"])
    ctr.create()
    ctr.rt.ok("delete", ctr.id)
    assert reap(ctr.pid) == 137


def test_list_shows_the_container(ctr):
    ctr.make(["sleep", "30"])
    ctr.create()
    r = ctr.rt.ok("list")
    assert ctr.id in r.out and "created" in r.out
    import json

    r = ctr.rt.ok("list", "--format", "json")
    ids = [c["id"] for c in json.loads(r.out)]
    assert ctr.id in ids


def test_duplicate_id_is_refused(ctr):
    ctr.make(["sleep", "30"])
    assert ctr.create().code == 0
    r = ctr.rt.create(ctr.id, ctr.bundle, ctr.out)
    assert r.code != 0 and "exists" in r.err
    assert ctr.rt.state(ctr.id)["status"] == "created"


def test_pause_and_resume(ctr):
    ctr.make(["sleep", "30"])
    ctr.create()
    ctr.rt.ok("start", ctr.id)
    ctr.rt.ok("pause", ctr.id)
    assert ctr.rt.state(ctr.id)["status"] == "paused"
    with open(f"/proc/{ctr.pid}/status") as f:
        assert any(line.startswith("State:") and ("T" in line or "D" in line or "S" in line) for line in f)
    ctr.rt.ok("resume", ctr.id)
    assert ctr.rt.state(ctr.id)["status"] == "running"
    assert ctr.rt("resume", ctr.id).code != 0


def test_preserve_fds_passes_extra_descriptors(ctr, tmp_path):
    import shlex
    import subprocess

    ctr.make(["sh", "-c", "echo via-fd3 >&3"])
    target = tmp_path / "fd3.txt"
    cmd = " ".join(shlex.quote(a) for a in [ctr.rt.binary, "--root", ctr.rt.root, "create", "--bundle", ctr.bundle, "--preserve-fds", "1", ctr.id])
    with open(ctr.out, "ab") as out:
        p = subprocess.run(["sh", "-c", f"exec 3>{shlex.quote(str(target))}; exec {cmd}"],
                           stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=False)
    assert p.returncode == 0, ctr.output()
    ctr.pid = ctr.rt.state(ctr.id)["pid"]
    ctr.rt.ok("start", ctr.id)
    assert reap(ctr.pid) == 0
    assert target.read_text() == "via-fd3\n"


def test_delete_removes_the_cgroups_after_sigkill_of_everything(ctr):
    ctr.make(["sh", "-c", "sleep 100 & sleep 100 & wait"])
    ctr.create()
    ctr.rt.ok("start", ctr.id)
    dirs = [f"/sys/fs/cgroup/{c}{ctr.cgroup}" for c in ("memory", "pids", "cpu", "freezer", "devices")]
    assert all(os.path.isdir(d) for d in dirs)
    ctr.rt.ok("kill", "--all", ctr.id, "KILL")
    assert reap(ctr.pid) == 137
    ctr.rt.ok("delete", ctr.id)
    assert [d for d in dirs if os.path.exists(d)] == []
