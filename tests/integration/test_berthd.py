"""berthd as a process: the system endpoints against the recorded dockerd exchanges, the
daemon's life (lock, socket, signals, start time), and real clients — the docker CLI
(28.2 on PATH, 20.10 at /usr/bin/docker) and the Python docker SDK."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator

import pytest

from berth import cgroups
from berth.testing.berthd import Berthd, berthd_command

pytestmark = pytest.mark.root

# ping_info.txt: dockerd 20.10's answer to HEAD /_ping, in order (Server and Date vary).
PING_HEADERS = [
    ("Api-Version", "1.41"),
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
    ("Content-Length", "0"),
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Docker-Experimental", "false"),
    ("Ostype", "linux"),
    ("Pragma", "no-cache"),
    ("Server", None),
    ("Date", None),
]

INFO_KEYS = (
    "ID Containers ContainersRunning ContainersPaused ContainersStopped Images Driver DriverStatus Plugins "
    "MemoryLimit SwapLimit KernelMemory KernelMemoryTCP CpuCfsPeriod CpuCfsQuota CPUShares CPUSet PidsLimit "
    "IPv4Forwarding BridgeNfIptables BridgeNfIp6tables Debug NFd OomKillDisable NGoroutines SystemTime "
    "LoggingDriver CgroupDriver CgroupVersion NEventsListener KernelVersion OperatingSystem OSVersion OSType "
    "Architecture IndexServerAddress RegistryConfig NCPU MemTotal GenericResources DockerRootDir HttpProxy "
    "HttpsProxy NoProxy Name Labels ExperimentalBuild ServerVersion Runtimes DefaultRuntime Swarm "
    "LiveRestoreEnabled Isolation InitBinary ContainerdCommit RuncCommit InitCommit SecurityOptions Warnings"
).split()


@pytest.fixture
def daemon(request: pytest.FixtureRequest) -> Iterator[Berthd]:
    d = Berthd.start(request.node.name)
    try:
        yield d
    finally:
        d.stop()
        d.cleanup()


def raw(d: Berthd, data: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(d.socket)
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_ping_then_request_on_one_connection_as_the_docker_cli_does(daemon: Berthd) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(daemon.socket)
        s.sendall(b"HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        assert buf.startswith(b"HTTP/1.1 200 OK\r\n") and buf.endswith(b"\r\n\r\n")
        s.sendall(b"GET /v1.41/version HTTP/1.1\r\nHost: api.moby.localhost\r\nConnection: close\r\n\r\n")
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(body)["ApiVersion"] == "1.41"


def ping_head(d: Berthd) -> list[tuple[str, str]]:
    out = raw(d, b"HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert body == b""
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    return [tuple(ln.split(": ", 1)) for ln in lines[1:] if not ln.startswith("Connection:")]  # type: ignore[misc]


def test_head_ping_is_byte_for_byte_dockerds_but_for_server_and_date(daemon: Berthd) -> None:
    got = ping_head(daemon)
    assert [k for k, _ in got] == [k for k, _ in PING_HEADERS]
    for (k, v), (_, want) in zip(got, PING_HEADERS, strict=True):
        if want is not None:
            assert v == want, k
    headers = dict(got)
    assert headers["Server"] == f"berth/{__import__('berth').__version__} (linux)"
    assert headers["Date"].endswith(" GMT")


def test_get_ping_and_versioned_ping(daemon: Berthd) -> None:
    for path in ("/_ping", "/v1.24/_ping", "/v1.41/_ping"):
        status, headers, body = daemon.request("GET", path)
        assert (status, body) == (200, b"OK")
        assert headers["Api-Version"] == "1.41"


def test_version(daemon: Berthd) -> None:
    status, headers, body = daemon.request("GET", "/v1.41/version")
    assert status == 200 and headers["Content-Type"] == "application/json"
    v = json.loads(body)
    assert v["ApiVersion"] == "1.41" and v["MinAPIVersion"] == "1.24"
    assert v["Version"] == __import__("berth").__version__
    assert v["KernelVersion"] == os.uname().release
    assert v["Os"] == "linux" and v["Arch"] in ("amd64", "arm64", os.uname().machine)
    assert v["GoVersion"].startswith("python3.")
    engine = v["Components"][0]
    assert engine["Name"] == "Engine" and engine["Details"]["ApiVersion"] == "1.41"
    assert engine["Details"]["MinAPIVersion"] == "1.24"
    assert v["Components"][1]["Name"] == "berth-runtime"
    assert json.loads(daemon.request("GET", "/version")[2]) == v  # unversioned = current


def meminfo_total() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal")


def test_info_reports_this_host(daemon: Berthd) -> None:
    status, _, body = daemon.request("GET", "/v1.41/info")
    assert status == 200
    info = json.loads(body)
    assert list(info) == INFO_KEYS
    assert info["NCPU"] == len(os.sched_getaffinity(0))
    assert info["MemTotal"] == meminfo_total()
    assert info["KernelVersion"] == os.uname().release
    assert info["Architecture"] == os.uname().machine
    with open("/etc/os-release") as f:
        pretty = next(ln.split("=", 1)[1].strip().strip('"') for ln in f if ln.startswith("PRETTY_NAME="))
    assert info["OperatingSystem"] == pretty
    setup = cgroups.detect()
    assert info["CgroupVersion"] == ("2" if setup.mode == "v2" else "1")
    assert info["CgroupDriver"] == "cgroupfs"
    assert info["Driver"] == "overlay2"
    assert info["DockerRootDir"] == daemon.root
    assert info["Runtimes"]["berth-runtime"]["path"].endswith("berth-runtime")
    for rt in ("runc", "crun"):
        assert (rt in info["Runtimes"]) == (shutil.which(rt) is not None)
    assert info["DefaultRuntime"] == "berth-runtime"
    assert info["Swarm"]["LocalNodeState"] == "inactive"
    assert info["SecurityOptions"] == ["name=seccomp,profile=default"]
    assert info["LiveRestoreEnabled"] is True
    assert (info["Containers"], info["Images"]) == (0, 0)
    assert info["Name"] == os.uname().nodename
    # the engine id is kept across restarts
    with open(os.path.join(daemon.root, "engine-id")) as f:
        assert f.read().strip() == info["ID"]


def test_version_rules_and_unknown_routes(daemon: Berthd) -> None:
    status, headers, body = daemon.request("GET", "/v1.99/version")
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"message": "client version 1.99 is too new. Maximum supported API version is 1.41"}
    status, headers, body = daemon.request("GET", "/v1.11/version")
    assert status == 400 and headers["Content-Type"].startswith("text/plain")
    assert body.startswith(b"client version 1.11 is too old. Minimum supported API version is 1.24")
    status, headers, body = daemon.request("GET", "/v1.41/nothing/here/json")
    assert status == 404 and json.loads(body) == {"message": "page not found"}
    assert headers["Api-Version"] == "1.41" and headers["Ostype"] == "linux"
    status, _, body = daemon.request("GET", "/v1.41/swarm")
    assert status == 503 and "not a swarm manager" in json.loads(body)["message"]


def test_socket_is_0660_and_never_world_writable(daemon: Berthd) -> None:
    st = os.stat(daemon.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    try:
        import grp

        gid = grp.getgrnam("berth").gr_gid
    except KeyError:
        gid = 0
    assert st.st_gid == gid


def test_starts_in_well_under_a_second(request: pytest.FixtureRequest) -> None:
    times = []
    for _ in range(3):
        d = Berthd.start(request.node.name)
        try:
            times.append(d.startup_seconds)
        finally:
            d.stop()
            d.cleanup()
    print(f"berthd exec → /_ping answered: {', '.join(f'{t * 1000:.0f} ms' for t in times)}")
    assert min(times) < 0.5
    assert max(times) < 1.0


def test_a_second_daemon_on_the_same_root_is_refused(daemon: Berthd) -> None:
    other_sock = os.path.join(daemon.dir, "other.sock")
    p = subprocess.run(
        [*berthd_command(), "--root", daemon.root, "--exec-root", os.path.join(daemon.dir, "run2"),
         "-H", f"unix://{other_sock}", "--config-file", os.path.join(daemon.dir, "daemon.json")],
        capture_output=True, text=True, timeout=20,
    )
    assert p.returncode == 1
    assert f"another berthd (pid {daemon.proc.pid}) is running with --root" in p.stderr  # type: ignore[union-attr]
    assert not os.path.exists(other_sock)
    assert daemon.ping()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(request: pytest.FixtureRequest, sig: int) -> None:
    d = Berthd.start(request.node.name)
    try:
        # an open idle connection must not hold the stop up
        idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        idle.connect(d.socket)
        assert d.stop(sig, timeout=10) == 0
        idle.close()
        assert not os.path.exists(d.socket)
        assert not os.path.exists(os.path.join(d.exec_root, "berthd.pid"))
        assert "daemon shutdown complete" in d.log()
        # the lock is free again: the same root starts
        d.launch()
        assert d.ping()
    finally:
        d.stop()
        d.cleanup()


def test_stale_socket_is_replaced(request: pytest.FixtureRequest) -> None:
    d = Berthd(request.node.name)
    try:
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(d.socket)
        stale.close()  # a socket file left by a crashed daemon
        d.launch()
        assert d.ping()
    finally:
        d.stop()
        d.cleanup()


def test_bad_configuration_fails_with_one_clear_line(request: pytest.FixtureRequest) -> None:
    d = Berthd(request.node.name)
    try:
        cfg = os.path.join(d.dir, "bad.json")
        with open(cfg, "w") as f:
            json.dump({"debug": True, "bogus": 1}, f)
        base = [*berthd_command(), "--root", d.root, "--exec-root", d.exec_root]
        p = subprocess.run([*base, "--config-file", cfg, "-H", d.host], capture_output=True, text=True, timeout=20)
        assert p.returncode == 1
        assert p.stderr.strip() == (
            f"berthd: unable to configure berthd with file {cfg}: the following directives don't match "
            "any configuration option: bogus"
        )
        with open(cfg, "w") as f:
            json.dump({"debug": True}, f)
        p = subprocess.run([*base, "--config-file", cfg, "-D", "-H", d.host], capture_output=True, text=True, timeout=20)
        assert p.returncode == 1
        assert "specified both as a flag and in the configuration file: debug: (from flag: true, from file: true)" in p.stderr
        p = subprocess.run([*base, "--config-file", cfg, "-H", "tcp://127.0.0.1:23750"], capture_output=True, text=True, timeout=20)
        assert p.returncode == 1
        assert "refusing to listen on tcp://127.0.0.1:23750 without TLS client verification" in p.stderr
        assert not os.path.exists(os.path.join(d.exec_root, "berthd.pid"))
    finally:
        d.cleanup()


# --- real clients ----------------------------------------------------------------------


def docker_env(d: Berthd) -> dict[str, str]:
    env = d.env()
    env["DOCKER_CONFIG"] = os.path.join(d.dir, "docker-config")  # no host contexts or plugins
    env.pop("DOCKER_CONTEXT", None)
    env.pop("DOCKER_API_VERSION", None)
    return env


def docker(d: Berthd, binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *args], env=docker_env(d), capture_output=True, text=True, timeout=30)


DOCKER_CLIS = [b for b in (shutil.which("docker"), "/usr/bin/docker") if b and os.access(b, os.X_OK)]


@pytest.mark.skipif(not DOCKER_CLIS, reason="no docker CLI installed")
@pytest.mark.parametrize("binary", sorted(set(DOCKER_CLIS)))
def test_docker_cli_version_and_info(daemon: Berthd, binary: str) -> None:
    p = docker(daemon, binary, "version")
    assert p.returncode == 0, p.stderr
    assert "Server:" in p.stdout and " Engine:" in p.stdout
    assert "API version:      1.41 (minimum version 1.24)" in p.stdout
    assert p.stderr == ""
    p = docker(daemon, binary, "version", "--format", "{{.Server.APIVersion}} {{.Client.APIVersion}}")
    assert p.returncode == 0 and p.stdout == "1.41 1.41\n"
    p = docker(daemon, binary, "info")
    assert p.returncode == 0, p.stderr
    for line in (" Swarm: inactive", " Storage Driver: overlay2", " Default Runtime: berth-runtime",
                 f" Docker Root Dir: {daemon.root}", f" Kernel Version: {os.uname().release}"):
        assert line in p.stdout.splitlines(), line
    p = docker(daemon, binary, "info", "--format", "{{.Swarm.LocalNodeState}} {{.NCPU}}")
    assert p.stdout == f"inactive {len(os.sched_getaffinity(0))}\n"
    p = docker(daemon, binary, "plugin", "ls")  # not served: the daemon's 404 reaches the user
    assert p.returncode == 1
    assert "page not found" in p.stderr or "No such plugin" in p.stderr  # 28.2 / 20.10 wording


def test_python_docker_sdk(daemon: Berthd) -> None:
    docker_sdk = pytest.importorskip("docker")
    client = docker_sdk.DockerClient(base_url=daemon.host)
    try:
        assert client.ping() is True
        v = client.version()
        assert v["ApiVersion"] == "1.41" and client.api.api_version == "1.41"
        info = client.info()
        assert info["Swarm"]["LocalNodeState"] == "inactive"
        assert info["DockerRootDir"] == daemon.root
        with pytest.raises(docker_sdk.errors.NotFound):
            client.api.inspect_container("nope")
        with pytest.raises(docker_sdk.errors.APIError) as e:
            client.swarm.reload()
        assert e.value.status_code == 503
    finally:
        client.close()
    low = docker_sdk.APIClient(base_url=daemon.host, version="1.99")
    try:
        with pytest.raises(docker_sdk.errors.APIError, match=r"client version 1.99 is too new"):
            low.version(api_version=True)
    finally:
        low.close()


def test_berth_cli(daemon: Berthd) -> None:
    berth = os.path.join(os.path.dirname(sys.executable), "berth")
    cmd = [berth] if os.access(berth, os.X_OK) else [sys.executable, "-m", "berth.cli.main"]
    env = daemon.env()
    p = subprocess.run([*cmd, "version"], env=env, capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert "  API version:      1.41 (minimum version 1.24)" in p.stdout
    p = subprocess.run([*cmd, "info"], env=env, capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert f" Berth Root Dir: {daemon.root}" in p.stdout
    p = subprocess.run([*cmd, "-H", daemon.host, "info", "-f", "{{.DefaultRuntime}}"], capture_output=True, text=True, timeout=20,
                       env={k: v for k, v in env.items() if k != "BERTH_HOST"})
    assert p.stdout == "berth-runtime\n"
    daemon.stop()
    p = subprocess.run([*cmd, "version"], env=env, capture_output=True, text=True, timeout=20)
    assert p.returncode == 1
    assert p.stderr == f"Cannot connect to the berth daemon at {daemon.host}. Is berthd running?\n"
