"""``docker exec`` through berthd, driven by the Python docker SDK (exec_run and the
low-level exec API) and, when installed, the real docker CLI: output, exit codes, env,
user, workdir, stdin, tty, detached execs, errors, and execs dying with their container."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator

import docker
import pytest
from docker.errors import APIError, NotFound

from berth.api.stdcopy import demux
from berth.testing.berthd import Berthd

pytestmark = pytest.mark.root

DOCKER_CLI = "/usr/local/bin/docker"
NOT_FOUND_MSG = (
    'OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": '
    "executable file not found in $PATH: unknown"
)


@pytest.fixture
def client(daemon: Berthd, busybox: str) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    yield c
    c.close()


@pytest.fixture
def box(client: docker.DockerClient, request: pytest.FixtureRequest) -> Iterator[docker.models.containers.Container]:
    """A running busybox container named after the test, removed afterwards."""
    name = "exec-" + request.node.name.replace("_", "-")[:40]
    c = client.containers.run(
        "busybox", ["sleep", "300"], detach=True, name=name, environment={"FROM_IMAGE": "1"}, working_dir="/etc"
    )
    yield c
    try:
        c.remove(force=True)
    except NotFound:
        pass


def _exec_state_dirs(daemon: Berthd) -> list[str]:
    try:
        return os.listdir(os.path.join(daemon.exec_root, "x"))
    except FileNotFoundError:
        return []


def _procs_naming(text: str) -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            continue
    return out


def _wait_exited(client: docker.DockerClient, eid: str, timeout: float = 20) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        info = client.api.exec_inspect(eid)
        if not info["Running"] and info["ExitCode"] is not None:
            return info  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, info
        time.sleep(0.05)


def test_exec_run_output_and_exit_codes(box, daemon: Berthd) -> None:  # type: ignore[no-untyped-def]
    assert tuple(box.exec_run("echo hi")) == (0, b"hi\n")
    res = box.exec_run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert res.exit_code == 3
    assert sorted(res.output.splitlines()) == [b"err", b"out"]
    out = box.exec_run(["sh", "-c", "echo out; echo err >&2"], stderr=False)
    assert out.output == b"out\n"
    # the shims and their state dirs are gone once the execs have exited
    deadline = time.monotonic() + 10
    while _exec_state_dirs(daemon) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _exec_state_dirs(daemon) == []


def test_exec_env_user_and_workdir(box) -> None:  # type: ignore[no-untyped-def]
    env = box.exec_run("env", environment={"FOO": "bar", "FROM_IMAGE": "2"}).output.decode().splitlines()
    assert "FOO=bar" in env
    assert "FROM_IMAGE=2" in env and "FROM_IMAGE=1" not in env
    assert any(e.startswith("PATH=/usr/local/sbin:") for e in env)
    assert f"HOSTNAME={box.id[:12]}" in env
    assert not any(e.startswith("TERM=") for e in env)
    assert box.exec_run("pwd").output == b"/etc\n"  # the container's working dir
    assert box.exec_run("pwd", workdir="/tmp").output == b"/tmp\n"
    assert box.exec_run("id -u").output == b"0\n"
    assert box.exec_run("id", user="nobody").output.startswith(b"uid=65534(nobody) gid=65534(nogroup)")
    assert box.exec_run("id -u", user="1000:1000").output == b"1000\n"
    # as dockerd: the exec is created, its start fails in the stream with exit code 126
    res = box.exec_run("id", user="nosuchuser")
    assert res.exit_code == 126
    assert b"unable to find user nosuchuser" in res.output


def test_exec_capabilities_follow_container_and_privileged(box) -> None:  # type: ignore[no-untyped-def]
    plain = box.exec_run(["sh", "-c", "grep CapBnd /proc/self/status"]).output.split()[-1]
    init = box.exec_run(["sh", "-c", "grep CapBnd /proc/1/status"]).output.split()[-1]
    assert plain == init
    priv = box.exec_run(["sh", "-c", "grep CapBnd /proc/self/status"], privileged=True).output.split()[-1]
    assert int(priv, 16) > int(plain, 16)


def test_exec_command_not_found_and_not_invocable(box, client: docker.DockerClient) -> None:  # type: ignore[no-untyped-def]
    res = box.exec_run("nope")
    assert res.exit_code == 127
    assert NOT_FOUND_MSG.encode() in res.output
    res = box.exec_run("/etc")
    assert res.exit_code == 126
    assert b"permission denied" in res.output
    eid = client.api.exec_create(box.id, "nope")["Id"]
    with pytest.raises(APIError) as err:
        client.api.exec_start(eid, detach=True)
    assert err.value.status_code == 400
    info = client.api.exec_inspect(eid)
    assert (info["Running"], info["ExitCode"]) == (False, 127)


def test_detached_exec_then_inspect(box, client: docker.DockerClient) -> None:  # type: ignore[no-untyped-def]
    eid = client.api.exec_create(box.id, ["sh", "-c", "sleep 0.5; exit 5"], user="user")["Id"]
    assert len(eid) == 64
    before = client.api.exec_inspect(eid)
    assert before["Running"] is False and before["ExitCode"] is None and before["Pid"] == 0
    assert before["ProcessConfig"] == {
        "tty": False, "entrypoint": "sh", "arguments": ["-c", "sleep 0.5; exit 5"], "privileged": False, "user": "user",
    }  # fmt: skip
    assert before["ContainerID"] == box.id
    box.reload()
    assert box.attrs["ExecIDs"] == [eid]
    assert not client.api.exec_start(eid, detach=True)  # an empty body
    running = client.api.exec_inspect(eid)
    assert running["Running"] is True and running["ExitCode"] is None and running["Pid"] > 0
    with pytest.raises(APIError) as err:
        client.api.exec_start(eid, detach=True)
    assert err.value.status_code == 409
    assert "is already running" in str(err.value)
    info = _wait_exited(client, eid)
    assert info["ExitCode"] == 5
    box.reload()
    assert box.attrs["ExecIDs"] is None
    with pytest.raises(APIError) as err:
        client.api.exec_start(eid, detach=True)
    assert err.value.status_code == 409
    assert "has already run" in str(err.value)


def test_exec_events(box, client: docker.DockerClient) -> None:  # type: ignore[no-untyped-def]
    since = int(time.time()) - 1
    box.exec_run(["sh", "-c", "exit 4"])
    until = int(time.time()) + 1
    evs = [
        e for e in client.events(since=since, until=until, decode=True, filters={"container": box.id})
        if e["Action"].startswith("exec_")
    ]  # fmt: skip
    assert [e["Action"] for e in evs] == ["exec_create: sh -c exit 4", "exec_start: sh -c exit 4", "exec_die"]
    assert evs[2]["Actor"]["Attributes"]["exitCode"] == "4"
    assert len({e["Actor"]["Attributes"]["execID"] for e in evs}) == 1


def test_exec_stdin_through_low_level_api(box, client: docker.DockerClient) -> None:  # type: ignore[no-untyped-def]
    eid = client.api.exec_create(box.id, ["sh", "-c", "cat; echo done >&2"], stdin=True)["Id"]
    sock = client.api.exec_start(eid, socket=True)
    raw: socket.socket = sock._sock
    raw.settimeout(20)
    raw.sendall(b"hello stdin\n")
    raw.shutdown(socket.SHUT_WR)
    data = b""
    while chunk := raw.recv(65536):
        data += chunk
    sock.close()
    frames = demux(data)
    assert b"".join(p for s, p in frames if s == 1) == b"hello stdin\n"
    assert b"".join(p for s, p in frames if s == 2) == b"done\n"
    assert client.api.exec_inspect(eid)["ExitCode"] == 0


def test_exec_tty_output_is_raw(box) -> None:  # type: ignore[no-untyped-def]
    res = box.exec_run(["sh", "-c", "echo hi; tty; echo $TERM"], tty=True)
    assert res.exit_code == 0
    lines = res.output.split(b"\r\n")
    assert lines[0] == b"hi"
    assert lines[1].startswith(b"/dev/pts/")
    assert lines[2] == b"xterm"


def test_exec_errors(box, client: docker.DockerClient) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(APIError) as err:
        client.api.exec_create(box.id, [])
    assert err.value.status_code == 400
    assert "No exec command specified" in str(err.value)
    with pytest.raises(NotFound) as nf:
        client.api.exec_inspect("f" * 64)
    assert f"No such exec instance: {'f' * 64}" in str(nf.value)
    with pytest.raises(NotFound):
        client.api.exec_create("nosuchcontainer", ["true"])
    box.stop(timeout=0)
    with pytest.raises(APIError) as err:
        box.exec_run("true")
    assert err.value.status_code == 409
    assert f"Container {box.id} is not running" in str(err.value)


@pytest.mark.parametrize("pid_mode", ["", "host"])
def test_execs_die_with_their_container(client: docker.DockerClient, daemon: Berthd, pid_mode: str) -> None:
    box = client.containers.run("busybox", ["sleep", "300"], detach=True, pid_mode=pid_mode or None)
    ids = [client.api.exec_create(box.id, ["sleep", "300"])["Id"] for _ in range(2)]
    for eid in ids:
        client.api.exec_start(eid, detach=True)
    assert len(_exec_state_dirs(daemon)) == 2
    assert all(_procs_naming(eid) for eid in ids)
    box.stop(timeout=0)
    for eid in ids:
        assert _wait_exited(client, eid)["ExitCode"] == 137
    deadline = time.monotonic() + 10
    while (_exec_state_dirs(daemon) or any(_procs_naming(e) for e in ids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _exec_state_dirs(daemon) == []
    assert not any(_procs_naming(e) for e in ids)
    box.remove()
    with pytest.raises(NotFound):
        client.api.exec_inspect(ids[0])


def test_exec_resize(box, client: docker.DockerClient) -> None:  # type: ignore[no-untyped-def]
    eid = client.api.exec_create(box.id, ["sh", "-c", "sleep 0.3; stty size"], tty=True)["Id"]
    sock = client.api.exec_start(eid, socket=True, tty=True)
    client.api.exec_resize(eid, height=33, width=111)
    raw: socket.socket = sock._sock
    raw.settimeout(20)
    data = b""
    while chunk := raw.recv(65536):
        data += chunk
    sock.close()
    assert data.strip() == b"33 111"
    with pytest.raises(NotFound):
        client.api.exec_resize("f" * 64, height=10, width=10)


@pytest.mark.skipif(not os.access(DOCKER_CLI, os.X_OK), reason="docker CLI not installed")
def test_docker_cli_exec(box, daemon: Berthd) -> None:  # type: ignore[no-untyped-def]
    def docker_cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["DOCKER_CONFIG"] = os.path.join(daemon.dir, "docker-config")
        return subprocess.run(
            [DOCKER_CLI, "-H", daemon.host, *args], capture_output=True, text=True, timeout=60, env=env, check=False
        )

    p = docker_cli("exec", box.name, "echo", "hi")
    assert (p.returncode, p.stdout) == (0, "hi\n"), p.stderr
    p = docker_cli("exec", box.name, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (p.returncode, p.stdout, p.stderr) == (3, "out\n", "err\n")
    p = docker_cli("exec", box.name, "nope")
    assert p.returncode == 127
    assert NOT_FOUND_MSG in p.stdout + p.stderr
    p = docker_cli("exec", box.name, "/etc")
    assert p.returncode == 126
    p = docker_cli("exec", "-i", box.name, "cat")
    assert p.returncode == 0
    p = subprocess.run(
        [DOCKER_CLI, "-H", daemon.host, "exec", "-i", "-e", "X=1", "-w", "/tmp", box.name, "sh", "-c", "cat; pwd; echo $X"],
        input="piped\n", capture_output=True, text=True, timeout=60, check=False,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")},
             "DOCKER_CONFIG": os.path.join(daemon.dir, "docker-config")},
    )  # fmt: skip
    assert (p.returncode, p.stdout) == (0, "piped\n/tmp\n1\n"), p.stderr
