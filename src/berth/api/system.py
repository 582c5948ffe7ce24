"""System routes: ``/_ping``, ``/version``, ``/info``, and swarm's refusals.

Wire shapes follow dockerd 20.10 at API 1.41 (README §1.1, §1.2, §2.5; traces
``ping_info.txt``, ``version.txt``). berth has no swarm mode: the swarm, node, service,
task, secret and config routes answer 503 as an inactive dockerd node does, so that
clients (``docker info``, ``docker inspect``, compose) see the familiar state.
"""

from __future__ import annotations

from typing import Any, Protocol

from berth import errdefs
from berth.api.request import Request
from berth.api.response import Reply, Response, json_response
from berth.api.router import Router
from berth.api.timefmt import rfc3339nano
from berth.api.wire import MEDIA_TEXT
from berth.engine.system import SystemInfo, VersionInfo
from berth.errdefs import Unavailable

__all__ = ["SystemBackend", "info_wire", "register", "version_wire"]

NOT_A_MANAGER = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
    "to connect this node to swarm and try again."
)
NOT_IN_SWARM = "This node is not part of a swarm"

_PING_HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
    "Content-Type": MEDIA_TEXT,
}


class SystemBackend(Protocol):
    async def version(self) -> VersionInfo: ...

    async def info(self) -> SystemInfo: ...


def version_wire(v: VersionInfo) -> dict[str, Any]:
    return {
        "Platform": {"Name": ""},
        "Components": [{"Name": c.name, "Version": c.version, "Details": dict(c.details)} for c in v.components],
        "Version": v.version,
        "ApiVersion": v.api_version,
        "MinAPIVersion": v.min_api_version,
        "GitCommit": v.git_commit,
        "GoVersion": v.python_version,
        "Os": v.os,
        "Arch": v.arch,
        "KernelVersion": v.kernel_version,
        "BuildTime": v.build_time,
    } | ({"Experimental": True} if v.experimental else {})


def info_wire(i: SystemInfo) -> dict[str, Any]:
    h = i.host
    cg = h.cgroups
    reg = i.registry
    commit = {"ID": i.runtime_commit, "Expected": i.runtime_commit}
    return {
        "ID": i.id,
        "Containers": i.containers.total,
        "ContainersRunning": i.containers.running,
        "ContainersPaused": i.containers.paused,
        "ContainersStopped": i.containers.stopped,
        "Images": i.images,
        "Driver": i.storage_driver,
        "DriverStatus": [list(kv) for kv in i.driver_status],
        "Plugins": {
            "Volume": i.plugins.get("Volume", []),
            "Network": i.plugins.get("Network", []),
            "Authorization": None,
            "Log": i.plugins.get("Log", []),
        },
        "MemoryLimit": bool(cg and cg.memory_limit),
        "SwapLimit": bool(cg and cg.swap_limit),
        "KernelMemory": bool(cg and cg.kernel_memory),
        "KernelMemoryTCP": bool(cg and cg.kernel_memory_tcp),
        "CpuCfsPeriod": bool(cg and cg.cpu_cfs_period),
        "CpuCfsQuota": bool(cg and cg.cpu_cfs_quota),
        "CPUShares": bool(cg and cg.cpu_shares),
        "CPUSet": bool(cg and cg.cpuset),
        "PidsLimit": bool(cg and cg.pids_limit),
        "IPv4Forwarding": h.ipv4_forwarding,
        "BridgeNfIptables": h.bridge_nf_iptables,
        "BridgeNfIp6tables": h.bridge_nf_ip6tables,
        "Debug": i.debug,
        "NFd": i.nfd,
        "OomKillDisable": bool(cg and cg.oom_kill_disable),
        "NGoroutines": i.nthreads,
        "SystemTime": rfc3339nano(i.system_time_ns, utc=False),
        "LoggingDriver": i.logging_driver,
        "CgroupDriver": cg.driver if cg else "none",
        "CgroupVersion": cg.version if cg else "",
        "NEventsListener": 0,
        "KernelVersion": h.kernel_version,
        "OperatingSystem": h.operating_system,
        "OSVersion": h.os_version,
        "OSType": "linux",
        "Architecture": h.architecture,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "AllowNondistributableArtifactsCIDRs": [],
            "AllowNondistributableArtifactsHostnames": [],
            "InsecureRegistryCIDRs": list(reg.insecure_cidrs),
            "IndexConfigs": {
                x.name: {"Name": x.name, "Mirrors": list(x.mirrors), "Secure": x.secure, "Official": x.official}
                for x in reg.indexes
            },
            "Mirrors": list(reg.mirrors),
        },
        "NCPU": h.ncpu,
        "MemTotal": h.mem_total,
        "GenericResources": None,
        "DockerRootDir": i.root,
        "HttpProxy": h.http_proxy,
        "HttpsProxy": h.https_proxy,
        "NoProxy": h.no_proxy,
        "Name": h.hostname,
        "Labels": list(i.labels),
        "ExperimentalBuild": i.experimental,
        "ServerVersion": i.server_version,
        "Runtimes": {name: {"path": path} for name, path in i.runtimes.items()},
        "DefaultRuntime": i.default_runtime,
        "Swarm": {
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": False,
            "Error": "",
            "RemoteManagers": None,
        },
        "LiveRestoreEnabled": i.live_restore,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": commit,
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": list(i.security_options),
        "Warnings": list(i.warnings) or None,
    }


# The routes a swarm manager serves; berth answers them as an inactive node.
_SWARM_ROUTES = [
    ("GET", "/swarm"),
    ("POST", "/swarm/update"),
    ("GET", "/swarm/unlockkey"),
    ("POST", "/swarm/unlock"),
    ("GET", "/nodes"),
    ("GET", "/nodes/{id}"),
    ("DELETE", "/nodes/{id}"),
    ("POST", "/nodes/{id}/update"),
    ("GET", "/services"),
    ("POST", "/services/create"),
    ("GET", "/services/{id}"),
    ("DELETE", "/services/{id}"),
    ("POST", "/services/{id}/update"),
    ("GET", "/services/{id}/logs"),
    ("GET", "/tasks"),
    ("GET", "/tasks/{id}"),
    ("GET", "/tasks/{id}/logs"),
    ("GET", "/secrets"),
    ("POST", "/secrets/create"),
    ("GET", "/secrets/{id}"),
    ("DELETE", "/secrets/{id}"),
    ("POST", "/secrets/{id}/update"),
    ("GET", "/configs"),
    ("POST", "/configs/create"),
    ("GET", "/configs/{id}"),
    ("DELETE", "/configs/{id}"),
    ("POST", "/configs/{id}/update"),
]


def register(router: Router, backend: SystemBackend) -> None:
    async def ping(req: Request) -> Reply:
        if req.method == "HEAD":
            return Response(200, b"", {**_PING_HEADERS, "Content-Length": "0"})
        return Response(200, b"OK", _PING_HEADERS)

    async def version(req: Request) -> Reply:
        return json_response(version_wire(await backend.version()))

    async def info(req: Request) -> Reply:
        return json_response(info_wire(await backend.info()))

    async def not_a_manager(req: Request) -> Reply:
        raise Unavailable(NOT_A_MANAGER)

    async def not_in_swarm(req: Request) -> Reply:
        raise Unavailable(NOT_IN_SWARM)

    async def no_swarm_mode(req: Request) -> Reply:
        raise errdefs.NotImplemented("berth does not support swarm mode")

    router.add("GET", "/_ping", ping)
    router.add("HEAD", "/_ping", ping)
    router.add("GET", "/version", version)
    router.add("GET", "/info", info)
    router.add("POST", "/swarm/init", no_swarm_mode)
    router.add("POST", "/swarm/join", no_swarm_mode)
    router.add("POST", "/swarm/leave", not_in_swarm)
    for method, pattern in _SWARM_ROUTES:
        router.add(method, pattern, not_a_manager)
