"""berth-runtime inside real engines: dockerd 20.10 (``--add-runtime``) and containerd 1.6
(the runc shim's ``BinaryName``, ``ctr run --runc-binary``). Each engine is private to the
module (fixtures in _engines.py); docs/engines.md shows the same commands."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import time
from collections.abc import Callable

import pytest

from ._engines import CTR_IMAGE, IMAGE, TAG, cgroup_dirs, memory_limit

pytestmark = [pytest.mark.oracle, pytest.mark.root]

# A container that exits 0 on SIGTERM and says so; busybox sleep keeps it cheap.
TRAP_LOOP = 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.1; done'


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


# -- dockerd -----------------------------------------------------------------------------


def test_dockerd_lists_berth_as_a_runtime(dockerd):
    runtimes = dockerd("info", "--format", "{{json .Runtimes}}").stdout
    assert '"berth"' in runtimes and '"berth-json"' in runtimes
    assert "berth-runtime" in runtimes


def test_docker_run_prints_output_and_propagates_exit_code(dockerd):
    p = dockerd("run", "--pull", "never", "--rm", "--runtime", "berth", "--network", "none", IMAGE, "sh", "-c", "echo hello from berth; exit 3", expect=3)
    assert p.stdout == "hello from berth\n"
    # the daemon.json "runtimes" form works the same
    p = dockerd("run", "--pull", "never", "--rm", "--runtime", "berth-json", "--network", "none", IMAGE, "echo", "json")
    assert p.stdout == "json\n"


def test_docker_run_applies_env_user_limits_and_cgroup_parent(dockerd):
    script = (
        "echo FOO=$FOO; id -u; hostname; pwd;"
        " cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max;"
        " cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max;"
        " grep Seccomp: /proc/self/status; cat /proc/self/cgroup"
    )
    p = dockerd(
        "run", "--pull", "never", "--rm", "--runtime", "berth", "--network", "none",
        "-e", "FOO=bar", "--user", "1000:1000", "--hostname", "berth-box", "-w", "/tmp",
        "--memory", "64m", "--pids-limit", "20",
        IMAGE, "sh", "-c", script,
    )  # fmt: skip
    lines = p.stdout.splitlines()
    assert lines[:6] == ["FOO=bar", "1000", "berth-box", "/tmp", str(64 << 20), "20"], p.stdout
    assert lines[6].split() == ["Seccomp:", "2"], p.stdout  # dockerd's default profile
    if not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):  # v1: no cgroup namespace
        assert f":/{TAG}-dockerd/" in lines[7], p.stdout


def test_docker_run_sets_oom_score_adj_of_the_container_only(dockerd):
    host_init = _read("/proc/1/oom_score_adj")
    p = dockerd("run", "--pull", "never", "--rm", "--runtime", "berth", "--network", "none", "--oom-score-adj", "500", IMAGE, "cat", "/proc/self/oom_score_adj")
    assert p.stdout == "500\n"
    assert _read("/proc/1/oom_score_adj") == host_init  # not the host's init (pid 1 in /proc)


def test_docker_build_runs_its_steps_in_berth(dockerd, tmp_path):
    """The classic builder runs each RUN step in a container of the default runtime."""
    (tmp_path / "Dockerfile").write_text(f'FROM {IMAGE}\nRUN echo built by berth > /built\nCMD ["cat", "/built"]\n')
    assert dockerd("info", "--format", "{{.DefaultRuntime}}").stdout.strip() == "berth"
    tag = "berth-built:oracle"
    dockerd("build", "--network", "none", "-t", tag, str(tmp_path), env={"DOCKER_BUILDKIT": "0"})
    assert dockerd("run", "--pull", "never", "--rm", "--network", "none", tag).stdout == "built by berth\n"
    dockerd("rmi", tag)


def test_docker_run_with_tty(dockerd):
    p = dockerd("run", "--pull", "never", "--rm", "-t", "--runtime", "berth", "--network", "none", IMAGE, "tty")
    assert p.stdout.strip() == "/dev/pts/0"


def test_docker_run_missing_executable_exits_127_and_says_why(dockerd):
    p = dockerd("run", "--pull", "never", "--rm", "--runtime", "berth", "--network", "none", IMAGE, "/nonexistent", expect=127)
    assert 'exec: "/nonexistent"' in p.stderr and "no such file or directory" in p.stderr
    p = dockerd("run", "--pull", "never", "--rm", "--runtime", "berth", "--network", "none", IMAGE, "/etc/passwd", expect=126)
    assert "permission denied" in p.stderr


def test_docker_exec_update_and_stop_a_detached_container(dockerd):
    name = f"{TAG}-exec"
    cid = dockerd("run", "--pull", "never", "-d", "--name", name, "--runtime", "berth", "--network", "none", "--memory", "64m", IMAGE, "sh", "-c", TRAP_LOOP).stdout.strip()
    try:
        _wait_for("the container to start", lambda: "ready" in dockerd("logs", name).stdout)
        p = dockerd("exec", "-e", "X=1", "-w", "/tmp", "-u", "1000", name, "sh", "-c", "echo $X; pwd; id -u")
        assert p.stdout.splitlines() == ["1", "/tmp", "1000"]
        dockerd("exec", name, "sh", "-c", "exit 5", expect=5)
        assert dockerd("exec", "-i", name, "cat", input="piped\n").stdout == "piped\n"
        assert dockerd("exec", "-t", name, "tty").stdout.strip().startswith("/dev/pts/")
        ps = dockerd("exec", name, "ps", "-o", "pid,args").stdout
        assert "1 sh -c trap" in " ".join(ps.split())
        dockerd("pause", name)
        assert dockerd("inspect", "-f", "{{.State.Status}}", name).stdout.strip() == "paused"
        dockerd("unpause", name)
        dockerd("update", "--memory", "100m", "--memory-swap", "200m", "--pids-limit", "50", name)
        assert memory_limit(f"/{TAG}-dockerd/{cid}") == 100 << 20
        start = time.monotonic()
        dockerd("stop", "-t", "10", name)
        assert time.monotonic() - start < 8, "SIGTERM did not reach the container's trap"
        assert "got-term" in dockerd("logs", name).stdout
        assert dockerd("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "0"
        dockerd("rm", name)
        assert dockerd("ps", "-aq", "--filter", f"name={name}").stdout == ""
        assert cgroup_dirs(f"/{TAG}-dockerd/{cid}") == []
        assert not os.path.exists(f"{dockerd.root}/exec/runtime-runc/{TAG}/{cid}")
    finally:
        dockerd("rm", "-f", name, expect=None)


def test_docker_stop_kills_a_container_that_ignores_sigterm(dockerd):
    name = f"{TAG}-stop"
    dockerd("run", "--pull", "never", "-d", "--name", name, "--runtime", "berth", "--network", "none", IMAGE, "sleep", "1000")
    try:
        dockerd("stop", "-t", "1", name)  # pid 1 without a handler ignores SIGTERM
        assert dockerd("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "137"
    finally:
        dockerd("rm", "-f", name, expect=None)


def test_docker_bridge_network_and_published_port(dockerd):
    """The default bridge: dockerd wires the network in the ``libnetwork-setkey`` prestart
    hook, which berth-runtime runs; then container to container, and a port published on
    127.0.0.1 through docker-proxy."""
    name = f"{TAG}-srv"
    dockerd(
        "run", "--pull", "never", "-d", "--name", name, "--runtime", "berth", "-p", "127.0.0.1::8080",
        IMAGE, "sh", "-c", "while :; do echo pong | nc -l -p 8080; done",
    )  # fmt: skip
    try:
        ip = dockerd("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).stdout.strip()
        assert ip.startswith(f"{dockerd.subnet}."), ip
        p = dockerd("run", "--pull", "never", "--rm", "--runtime", "berth", IMAGE, "sh", "-c", f"ip -4 -o addr show eth0; echo ping | nc -w 3 {ip} 8080")
        assert f"inet {dockerd.subnet}." in p.stdout and "pong" in p.stdout, p.stdout
        host_port = int(dockerd("port", name, "8080/tcp").stdout.split()[0].rsplit(":", 1)[1])
        got = b""
        for _ in range(50):  # nc restarts between connections: retry while it is not listening
            try:
                with socket.create_connection(("127.0.0.1", host_port), timeout=3) as s:
                    s.sendall(b"ping\n")
                    got = s.recv(100)
            except OSError:
                got = b""
            if got:
                break
            time.sleep(0.1)
        assert got == b"pong\n"
    finally:
        dockerd("rm", "-f", name, expect=None)


# -- containerd --------------------------------------------------------------------------


def test_ctr_run_prints_output_and_propagates_exit_code(containerd):
    cid = f"{TAG}-run"
    p = containerd("run", "--rm", *containerd.run_flags, CTR_IMAGE, cid, "sh", "-c", "echo hello from berth; exit 3", expect=3)
    assert p.stdout == "hello from berth\n"
    assert containerd("containers", "ls", "-q").stdout.split() == []


def test_ctr_run_missing_executable_reports_the_runtime_error(containerd):
    cid = f"{TAG}-missing"
    p = containerd("run", "--rm", *containerd.run_flags, CTR_IMAGE, cid, "/nonexistent", expect=1)
    assert 'exec: "/nonexistent"' in p.stderr and "no such file or directory" in p.stderr
    containerd("containers", "rm", cid, expect=None)


def test_ctr_run_detached_then_exec_pause_and_kill(containerd):
    cid = f"{TAG}-detached"
    cgroup = f"/{TAG}-ctr/{cid}"
    script = 'trap "exit 7" TERM; while :; do sleep 0.1; done'
    containerd("run", "-d", *containerd.run_flags, "--memory-limit", str(64 << 20), "--cgroup", cgroup, CTR_IMAGE, cid, "sh", "-c", script)
    try:
        assert memory_limit(cgroup) == 64 << 20
        p = containerd("tasks", "exec", "--fifo-dir", f"{containerd.root}/fifo", "--exec-id", "e1", cid, "sh", "-c", "echo in exec; exit 4", expect=4)
        assert p.stdout == "in exec\n"
        assert len(containerd("tasks", "ps", cid).stdout.splitlines()) >= 2
        containerd("tasks", "pause", cid)
        assert "PAUSED" in containerd("tasks", "ls").stdout
        containerd("tasks", "resume", cid)
        containerd("tasks", "kill", cid)  # SIGTERM: the trap exits 7
        _wait_for("the task to stop", lambda: "STOPPED" in containerd("tasks", "ls").stdout)
        assert "exit code 7" in containerd("tasks", "rm", cid).stderr  # ctr warns of a non-zero exit
        containerd("containers", "rm", cid)
        assert cgroup_dirs(cgroup) == []
        assert not os.path.exists(f"{containerd.root}/runc/{TAG}/{cid}")
    finally:
        containerd("tasks", "rm", "-f", cid, expect=None)
        containerd("containers", "rm", cid, expect=None)


def test_ctr_run_with_tty(containerd):
    """ctr needs a terminal for -t: give it a pty and read what the container wrote."""
    cid = f"{TAG}-tty"
    master, slave = os.openpty()
    try:
        p = subprocess.Popen(
            [*containerd.client, "run", "--rm", "-t", *containerd.run_flags, CTR_IMAGE, cid, "sh", "-c", "tty; exit 6"],
            stdin=slave, stdout=slave, stderr=slave, env=containerd.env, start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        slave = -1
        out = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every writer closed the pty
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        assert p.wait(30) == 6, out
        assert b"/dev/pts/0" in out, out
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
        containerd("tasks", "rm", "-f", cid, expect=None)
        containerd("containers", "rm", cid, expect=None)
