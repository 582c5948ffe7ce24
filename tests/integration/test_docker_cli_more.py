"""The docker CLI and the berth CLI against berthd — the same commands, the same output —
for what test_docker_cli_containers.py does not cover: logs options, rename, restart,
pause/unpause, top, stats, update, port, events, diff, commit, export, cp, container
prune, attach, exec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time

import pytest

from berth.testing.berthd import Berthd

DOCKER = next((p for p in ("/usr/local/bin/docker", "/usr/bin/docker") if os.access(p, os.X_OK)), None)
BERTH = os.path.join(os.path.dirname(sys.executable), "berth")

pytestmark = pytest.mark.root

CLI = ""


@pytest.fixture(params=["docker", "berth"], autouse=True)
def cli(request: pytest.FixtureRequest) -> str:
    global CLI, DOCKER
    if request.param == "docker" and DOCKER is None:
        pytest.skip("no docker CLI installed")
    CLI = DOCKER if request.param == "docker" else BERTH  # type: ignore[assignment]
    return CLI


def docker(d: Berthd, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "BERTH_"))}
    env["DOCKER_HOST"] = env["BERTH_HOST"] = d.host
    env["DOCKER_CONFIG"] = os.path.join(d.dir, "docker-config")
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, input=stdin)


def ok(d: Berthd, *args: str, stdin: str | None = None) -> str:
    p = docker(d, *args, stdin=stdin)
    assert p.returncode == 0, f"docker {' '.join(args)}: {p.stderr}"
    return p.stdout


def test_logs_options_rename_restart(daemon: Berthd, busybox: str) -> None:
    ok(daemon, "run", "-d", "--name", "talker", "busybox", "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; sleep 300")
    deadline = time.monotonic() + 10
    while "line5" not in ok(daemon, "logs", "talker") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ok(daemon, "logs", "--tail", "2", "talker") == "line4\nline5\n"
    stamped = ok(daemon, "logs", "-t", "--tail", "1", "talker")
    assert stamped.endswith(" line5\n") and stamped[:4].isdigit() and "T" in stamped[:20]
    assert ok(daemon, "logs", "--since", "1h", "talker").count("line") == 5
    assert ok(daemon, "logs", "--until", "2000-01-01T00:00:00Z", "talker") == ""
    # -f ends when the container does
    f = subprocess.Popen([CLI, "logs", "-f", "talker"], env=os.environ | {"DOCKER_HOST": daemon.host, "BERTH_HOST": daemon.host, "DOCKER_CONFIG": os.path.join(daemon.dir, "dc")},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(0.3)
    ok(daemon, "rename", "talker", "speaker")
    assert ok(daemon, "inspect", "-f", "{{.Name}}", "speaker") == "/speaker\n"
    ok(daemon, "kill", "speaker")
    out, _ = f.communicate(timeout=15)
    assert out.count("line") == 5
    assert ok(daemon, "restart", "-t", "1", "speaker") == "speaker\n"
    assert ok(daemon, "inspect", "-f", "{{.State.Running}} {{.RestartCount}}", "speaker") == "true 0\n"
    ok(daemon, "rm", "-f", "speaker")


def test_pause_top_stats_update_port(daemon: Berthd, busybox: str) -> None:
    cid = ok(daemon, "run", "-d", "--memory", "64m", "busybox", "sleep", "300").strip()
    ok(daemon, "pause", cid)
    assert "(Paused)" in ok(daemon, "ps")
    ok(daemon, "unpause", cid)
    top = ok(daemon, "top", cid).splitlines()
    assert top[0].split()[:3] == ["UID", "PID", "PPID"] and "sleep 300" in top[1]
    stats = ok(daemon, "stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}", cid).strip()
    usage, pids = stats.split("|")
    assert usage.endswith("64MiB") and pids == "1"
    ok(daemon, "update", "--memory", "128m", "--memory-swap", "256m", "--restart", "on-failure:3", cid)
    assert ok(daemon, "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}", cid) == "134217728 on-failure\n"
    p = docker(daemon, "port", cid)
    assert p.returncode == 0 and p.stdout == ""
    ok(daemon, "rm", "-f", cid)


def test_events_diff_commit_export_cp(daemon: Berthd, busybox: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    since = str(int(time.time()) - 1)
    ok(daemon, "run", "--name", "maker", "busybox", "sh", "-c", "mkdir /made && echo hi > /made/f && rm /etc/group")
    ev = ok(daemon, "events", "--since", since, "--until", str(int(time.time()) + 1), "--filter", "container=maker",
            "--format", "{{.Action}}")  # fmt: skip
    assert ev.split()[:4] == ["create", "attach", "start", "die"] or ev.split()[:3] == ["create", "start", "die"], ev
    diff = ok(daemon, "diff", "maker").splitlines()
    assert "A /made" in diff and "A /made/f" in diff and "D /etc/group" in diff
    image = ok(daemon, "commit", "-c", 'CMD ["cat", "/made/f"]', "maker", "made:1").strip()
    assert image.startswith("sha256:")
    assert ok(daemon, "run", "--rm", "made:1") == "hi\n"
    out = tmp_path / "fs.tar"
    ok(daemon, "export", "-o", str(out), "maker")
    with tarfile.open(out) as tf:
        names = tf.getnames()
    assert "made/f" in names and "bin/busybox" in names
    ok(daemon, "cp", "maker:/made/f", str(tmp_path / "f"))
    assert (tmp_path / "f").read_text() == "hi\n"
    (tmp_path / "in.txt").write_text("in\n")
    ok(daemon, "cp", str(tmp_path / "in.txt"), "maker:/made/")
    ok(daemon, "rm", "maker")
    ok(daemon, "rmi", "made:1")
    # prune removes stopped containers only
    ok(daemon, "create", "--name", "stopped1", "busybox", "true")
    running = ok(daemon, "run", "-d", "busybox", "sleep", "300").strip()
    pr = ok(daemon, "container", "prune", "-f")
    assert "Deleted Containers:" in pr and "Total reclaimed space:" in pr
    assert json.loads(ok(daemon, "ps", "-a", "--format", "{{json .ID}}").strip() or "null") == running[:12]
    ok(daemon, "rm", "-f", running)


def test_attach_and_exec(daemon: Berthd, busybox: str) -> None:
    cid = ok(daemon, "run", "-d", "-i", "busybox", "sh", "-c", "read x; echo got-$x").strip()
    p = docker(daemon, "attach", cid, stdin="hello\n")
    assert p.stdout == "got-hello\n" and p.returncode == 0
    assert ok(daemon, "wait", cid) == "0\n"
    cid = ok(daemon, "run", "-d", "busybox", "sleep", "300").strip()
    assert ok(daemon, "exec", "-e", "X=1", "-w", "/tmp", cid, "sh", "-c", "echo $X; pwd") == "1\n/tmp\n"
    assert docker(daemon, "exec", cid, "sh", "-c", "exit 7").returncode == 7
    assert docker(daemon, "exec", cid, "nope").returncode == 127
    ok(daemon, "rm", "-f", cid)
