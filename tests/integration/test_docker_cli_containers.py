"""The real docker CLI (28.2 at /usr/local/bin/docker, else Debian's 20.10) against berthd:
container commands, their output and exit codes, unchanged."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from berth.testing.berthd import Berthd

DOCKER = next((p for p in ("/usr/local/bin/docker", "/usr/bin/docker") if os.access(p, os.X_OK)), None)

pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="no docker CLI installed")]


def docker(d: Berthd, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    assert DOCKER is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_HOST"] = d.host
    env["DOCKER_CONFIG"] = os.path.join(d.dir, "docker-config")
    return subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=timeout, input=stdin)


def test_run_exit_codes(daemon: Berthd, busybox: str) -> None:
    p = docker(daemon, "run", "--rm", "busybox", "echo", "hello")
    assert (p.returncode, p.stdout) == (0, "hello\n")
    assert docker(daemon, "run", "--rm", "busybox", "sh", "-c", "exit 3").returncode == 3
    p = docker(daemon, "run", "--rm", "busybox", "nope")
    assert p.returncode == 127
    assert 'exec: "nope": executable file not found in $PATH' in p.stderr
    p = docker(daemon, "run", "--rm", "busybox", "/etc/passwd")
    assert p.returncode == 126
    assert "permission denied" in p.stderr
    p = docker(daemon, "run", "--rm", "--memory", "1k", "busybox", "true")
    assert p.returncode == 125
    assert "Minimum memory limit allowed is 6MB" in p.stderr
    p = docker(daemon, "run", "--rm", "nosuchimage-berth:1", "true")
    assert p.returncode == 125
    # failed runs leave nothing behind
    assert docker(daemon, "ps", "-aq").stdout == ""


def test_detached_lifecycle(daemon: Berthd, busybox: str) -> None:
    p = docker(daemon, "run", "-d", "--name", "web", "busybox", "sh", "-c", "echo started; sleep 300")
    assert p.returncode == 0, p.stderr
    cid = p.stdout.strip()
    assert len(cid) == 64
    ps = docker(daemon, "ps").stdout.splitlines()
    assert ps[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert ps[1].startswith(cid[:12]) and ps[1].endswith("web") and "Up " in ps[1]
    assert docker(daemon, "inspect", "-f", "{{.State.Status}} {{.Name}}", "web").stdout == "running /web\n"
    assert docker(daemon, "logs", "web").stdout == "started\n"
    p = docker(daemon, "run", "-d", "--name", "web", "busybox", "true")
    assert p.returncode == 125
    assert 'The container name "/web" is already in use' in p.stderr
    p = docker(daemon, "rm", "web")
    assert p.returncode == 1
    assert "container is running: stop the container before removing or force remove" in p.stderr
    assert docker(daemon, "stop", "-t", "1", "web").stdout == "web\n"
    ps = docker(daemon, "ps", "-a").stdout.splitlines()
    assert "Exited (137)" in ps[1]
    assert docker(daemon, "start", "web").stdout == "web\n"
    assert docker(daemon, "kill", "web").stdout == "web\n"
    assert docker(daemon, "wait", "web").stdout == "137\n"
    assert docker(daemon, "rm", "web").stdout == "web\n"
    p = docker(daemon, "inspect", "web")
    assert p.returncode == 1
    assert "No such object: web" in p.stderr or "No such container: web" in p.stderr


def test_stdin_env_user_workdir_limits(daemon: Berthd, busybox: str) -> None:
    p = docker(daemon, "run", "--rm", "-i", "busybox", "cat", stdin="piped\n")
    assert p.stdout == "piped\n"
    p = docker(
        daemon, "run", "--rm", "-e", "A=b", "-w", "/tmp", "-u", "1000:1000", "--memory", "64m",
        "--pids-limit", "50", "--read-only", "--tmpfs", "/scratch",
        "busybox", "sh", "-c", "echo $A; pwd; id -u; touch /x 2>/dev/null || echo ro; touch /scratch/y && echo tmpfs-rw",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert p.stdout == "b\n/tmp\n1000\nro\ntmpfs-rw\n"


def test_network_modes(daemon: Berthd, busybox: str) -> None:
    none = docker(daemon, "run", "--rm", "--network", "none", "busybox", "ip", "-o", "link").stdout
    assert [line.split(":")[1].strip() for line in none.splitlines()] == ["lo"]
    assert "UP" in none
    bridge = docker(daemon, "run", "--rm", "busybox", "ip", "-o", "link").stdout  # the default: bridge
    assert [line.split(":")[1].strip().split("@")[0] for line in bridge.splitlines()] == ["lo", "eth0"]
    host = docker(daemon, "run", "--rm", "--network", "host", "busybox", "ip", "-o", "link").stdout
    assert len(host.splitlines()) == len(open("/proc/net/dev").read().splitlines()) - 2
    p = docker(daemon, "run", "--rm", "--network", "host", "busybox", "hostname")
    assert p.stdout.strip() == os.uname().nodename


def test_volumes_and_binds(daemon: Berthd, busybox: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_text("hi\n")
    p = docker(daemon, "run", "--rm", "-v", f"{tmp_path}:/h:ro", "-v", "data:/data", "busybox",
               "sh", "-c", "cat /h/f; echo kept > /data/k")  # fmt: skip
    assert p.stdout == "hi\n", p.stderr
    assert docker(daemon, "run", "--rm", "-v", "data:/data", "busybox", "cat", "/data/k").stdout == "kept\n"
    assert "data" in docker(daemon, "volume", "ls", "-q").stdout.split()
    assert docker(daemon, "volume", "rm", "data").returncode == 0
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.parametrize("cli", ["berth", "docker"])
def test_run_pulls_a_missing_image(daemon: Berthd, busybox: str, registry, cli: str) -> None:  # type: ignore[no-untyped-def]
    import sys

    ref = f"{registry.host}/test/busybox:run-pull"
    assert docker(daemon, "tag", "busybox", ref).returncode == 0
    assert docker(daemon, "push", ref).returncode == 0
    assert docker(daemon, "rmi", ref).returncode == 0
    argv0 = os.path.join(os.path.dirname(sys.executable), "berth") if cli == "berth" else DOCKER
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "BERTH_"))}
    env |= {"DOCKER_HOST": daemon.host, "BERTH_HOST": daemon.host, "DOCKER_CONFIG": os.path.join(daemon.dir, "dc")}
    p = subprocess.run([argv0 or "", "run", "--rm", ref, "echo", "pulled"], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "pulled\n"
    assert f"Unable to find image '{ref}' locally" in p.stderr
    assert docker(daemon, "rmi", ref).returncode == 0
