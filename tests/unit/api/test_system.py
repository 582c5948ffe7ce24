"""System routes against a fake backend: the shapes of README §1.1, §1.2 and §2.5."""

from __future__ import annotations

import pytest

from berth.api import system
from berth.api.router import Router
from berth.engine.host import CgroupFeatures, HostFacts
from berth.engine.system import (
    Component,
    ContainerCounts,
    SystemInfo,
    VersionInfo,
    registry_info,
)
from berth.oci.fastjson import loads

from .helpers import exchange, serve

INFO_KEYS = (
    "ID Containers ContainersRunning ContainersPaused ContainersStopped Images Driver DriverStatus Plugins "
    "MemoryLimit SwapLimit KernelMemory KernelMemoryTCP CpuCfsPeriod CpuCfsQuota CPUShares CPUSet PidsLimit "
    "IPv4Forwarding BridgeNfIptables BridgeNfIp6tables Debug NFd OomKillDisable NGoroutines SystemTime "
    "LoggingDriver CgroupDriver CgroupVersion NEventsListener KernelVersion OperatingSystem OSVersion OSType "
    "Architecture IndexServerAddress RegistryConfig NCPU MemTotal GenericResources DockerRootDir HttpProxy "
    "HttpsProxy NoProxy Name Labels ExperimentalBuild ServerVersion Runtimes DefaultRuntime Swarm "
    "LiveRestoreEnabled Isolation InitBinary ContainerdCommit RuncCommit InitCommit SecurityOptions Warnings"
).split()

VERSION_KEYS = (
    "Platform Components Version ApiVersion MinAPIVersion GitCommit GoVersion Os Arch KernelVersion BuildTime"
).split()


def cgroups() -> CgroupFeatures:
    return CgroupFeatures("2", "cgroupfs", True, True, False, False, True, True, True, True, True, False)


def facts() -> HostFacts:
    return HostFacts(
        hostname="vm",
        kernel_version="6.1.0",
        operating_system="Debian GNU/Linux 12 (bookworm)",
        os_version="12",
        architecture="x86_64",
        ncpu=2,
        mem_total=25276502016,
        ipv4_forwarding=True,
        bridge_nf_iptables=True,
        bridge_nf_ip6tables=False,
        backing_filesystem="extfs",
        http_proxy="",
        https_proxy="",
        no_proxy="",
        cgroups=cgroups(),
    )


class FakeSystem:
    async def version(self) -> VersionInfo:
        engine = Component("Engine", "0.1.0", {"ApiVersion": "1.41", "MinAPIVersion": "1.24"})
        return VersionInfo(
            "0.1.0", "1.41", "1.24", "abc1234", "", "python3.11.2", "linux", "amd64", "6.1.0", False,
            [engine, Component("berth-runtime", "0.1.0", {"GitCommit": ""})],
        )

    async def info(self) -> SystemInfo:
        return SystemInfo(
            id="id-1",
            host=facts(),
            containers=ContainerCounts(running=1, paused=0, stopped=2),
            images=4,
            storage_driver="overlay2",
            driver_status=[("Backing Filesystem", "extfs")],
            logging_driver="json-file",
            plugins={"Volume": ["local"], "Network": ["bridge"], "Log": ["json-file"]},
            registry=registry_info(("10.0.0.0/8", "reg.local:5000"), ("https://mirror.example",)),
            runtimes={"berth-runtime": "/usr/bin/berth-runtime", "runc": "/usr/sbin/runc"},
            default_runtime="berth-runtime",
            root="/var/lib/berth",
            debug=False,
            live_restore=True,
            experimental=False,
            labels=["a=b"],
            server_version="0.1.0",
            runtime_commit="0.1.0",
            security_options=["name=seccomp,profile=default"],
            system_time_ns=1795813579_000000001,
            nfd=12,
            nthreads=3,
            warnings=[],
        )


@pytest.fixture(scope="module")
def sock() -> str:
    r = Router()
    system.register(r, FakeSystem())
    with serve(r) as path:
        yield path  # type: ignore[misc]


def call(sock: str, method: str, target: str) -> tuple[list[str], bytes]:
    out = exchange(sock, f"{method} {target} HTTP/1.1\r\nHost: api.moby.localhost\r\nConnection: close\r\n\r\n".encode())
    head, _, body = out.partition(b"\r\n\r\n")
    return head.decode().split("\r\n"), body


def test_head_ping_headers_match_the_trace(sock: str) -> None:
    lines, body = call(sock, "HEAD", "/_ping")
    assert body == b""
    assert lines[0] == "HTTP/1.1 200 OK"
    # ping_info.txt, in order, with our Server and the close we asked for
    names = [ln.split(": ")[0] for ln in lines[1:]]
    assert names == [
        "Api-Version", "Cache-Control", "Content-Length", "Content-Type", "Docker-Experimental",
        "Ostype", "Pragma", "Server", "Date", "Connection",
    ]
    h = dict(ln.split(": ", 1) for ln in lines[1:])
    assert h["Api-Version"] == "1.41"
    assert h["Cache-Control"] == "no-cache, no-store, must-revalidate"
    assert h["Content-Length"] == "0"
    assert h["Content-Type"] == "text/plain; charset=utf-8"
    assert h["Docker-Experimental"] == "false"
    assert h["Ostype"] == "linux"
    assert h["Pragma"] == "no-cache"


def test_get_ping_says_ok_and_versioned_ping_works(sock: str) -> None:
    for target in ("/_ping", "/v1.24/_ping", "/v1.41/_ping"):
        lines, body = call(sock, "GET", target)
        assert lines[0] == "HTTP/1.1 200 OK"
        assert body == b"OK"


def test_version_shape(sock: str) -> None:
    lines, body = call(sock, "GET", "/v1.41/version")
    doc = loads(body)
    assert list(doc) == VERSION_KEYS
    assert doc["ApiVersion"] == "1.41" and doc["MinAPIVersion"] == "1.24"
    assert doc["Components"][0]["Name"] == "Engine"
    assert doc["Platform"] == {"Name": ""}
    assert "Content-Type: application/json" in lines


def test_info_has_every_key_dockerd_sends(sock: str) -> None:
    _, body = call(sock, "GET", "/info")
    doc = loads(body)
    assert list(doc) == INFO_KEYS
    assert doc["Containers"] == 3 and doc["ContainersRunning"] == 1 and doc["ContainersStopped"] == 2
    assert doc["Swarm"]["LocalNodeState"] == "inactive"
    assert doc["Runtimes"]["runc"] == {"path": "/usr/sbin/runc"}
    assert doc["CgroupVersion"] == "2" and doc["KernelMemory"] is False
    assert doc["SystemTime"].startswith("20") and "T" in doc["SystemTime"]
    assert doc["Warnings"] is None
    reg = doc["RegistryConfig"]
    assert reg["InsecureRegistryCIDRs"] == ["127.0.0.0/8", "10.0.0.0/8"]
    assert reg["IndexConfigs"]["reg.local:5000"] == {"Name": "reg.local:5000", "Mirrors": [], "Secure": False, "Official": False}
    assert reg["IndexConfigs"]["docker.io"]["Mirrors"] == ["https://mirror.example"]
    assert reg["Mirrors"] == ["https://mirror.example"]


@pytest.mark.parametrize(
    ("method", "target"),
    [("GET", "/swarm"), ("GET", "/v1.41/nodes"), ("GET", "/services"), ("POST", "/services/create"),
     ("GET", "/tasks/abc"), ("GET", "/secrets"), ("DELETE", "/configs/x"), ("POST", "/swarm/update")],
)
def test_swarm_routes_answer_like_an_inactive_node(sock: str, method: str, target: str) -> None:
    lines, body = call(sock, method, target)
    assert lines[0] == "HTTP/1.1 503 Service Unavailable"
    assert loads(body) == {"message": system.NOT_A_MANAGER}
    assert 'Use "docker swarm init"' in system.NOT_A_MANAGER


def test_swarm_leave_and_init(sock: str) -> None:
    lines, body = call(sock, "POST", "/swarm/leave")
    assert lines[0].startswith("HTTP/1.1 503") and loads(body)["message"] == "This node is not part of a swarm"
    lines, _ = call(sock, "POST", "/swarm/init")
    assert lines[0].startswith("HTTP/1.1 501")
