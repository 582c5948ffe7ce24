"""The system service: what berthd reports about itself and its host (``/version``,
``/info``).

Vocabulary:

- **data root** (``--root``, /var/lib/berth): berthd's persistent state; **exec root**
  (``--exec-root``, /run/berth): its runtime state (socket, pid file), gone at reboot.
- **runtime**: an OCI runtime binary with runc's command line, known by name
  (``berth-runtime``, ``runc``, ``crun``, or one added with ``--add-runtime``); the
  **default runtime** runs containers that do not name one.
- **engine id**: a random UUID made on the first start and kept in ``<root>/engine-id``, so
  a host keeps its identity across restarts (``docker info``'s ``ID``).
- **host facts**: :mod:`berth.engine.host`.

Values are snake_case dataclasses; :mod:`berth.api.system` turns them into wire shapes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import berth
from berth.buildinfo import git_commit, go_arch, python_version
from berth.engine.host import HostFacts, host_facts
from berth.errdefs import from_oserror
from berth.linux.fs import atomic_write

__all__ = [
    "Component",
    "ContainerCounts",
    "IndexInfo",
    "RegistryInfo",
    "SystemConfig",
    "SystemInfo",
    "SystemService",
    "VersionInfo",
    "engine_id",
    "registry_info",
]

@dataclass(frozen=True)
class SystemConfig:
    """What berthd was configured with, as far as the system service reports it."""

    root: str
    exec_root: str
    runtimes: Mapping[str, str]  # name → path of the binary
    default_runtime: str
    debug: bool = False
    insecure_registries: tuple[str, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    live_restore: bool = True
    experimental: bool = False


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionInfo:
    version: str
    api_version: str
    min_api_version: str
    git_commit: str
    build_time: str
    python_version: str
    os: str
    arch: str  # GOARCH spelling
    kernel_version: str
    experimental: bool
    components: list[Component]


@dataclass(frozen=True)
class ContainerCounts:
    running: int = 0
    paused: int = 0
    stopped: int = 0

    @property
    def total(self) -> int:
        return self.running + self.paused + self.stopped


@dataclass(frozen=True)
class IndexInfo:
    name: str
    mirrors: list[str]
    secure: bool
    official: bool


@dataclass(frozen=True)
class RegistryInfo:
    insecure_cidrs: list[str]
    indexes: list[IndexInfo]
    mirrors: list[str]


@dataclass(frozen=True)
class SystemInfo:
    id: str
    host: HostFacts
    containers: ContainerCounts
    images: int
    storage_driver: str
    driver_status: list[tuple[str, str]]
    logging_driver: str
    plugins: dict[str, list[str]]
    registry: RegistryInfo
    runtimes: dict[str, str]
    default_runtime: str
    root: str
    debug: bool
    live_restore: bool
    experimental: bool
    labels: list[str]
    server_version: str
    runtime_commit: str
    security_options: list[str]
    system_time_ns: int
    nfd: int
    nthreads: int
    warnings: list[str]


def _warnings(h: HostFacts) -> list[str]:
    """dockerd's ``docker info`` warnings for what this host cannot enforce."""
    out = []
    c = h.cgroups
    if c is None:
        out.append("WARNING: No cgroup hierarchy found: resource limits are not enforced")
    else:
        checks = [
            (c.memory_limit, "WARNING: No memory limit support"),
            (c.swap_limit, "WARNING: No swap limit support"),
            (c.cpu_cfs_quota, "WARNING: No cpu cfs quota support"),
            (c.cpu_cfs_period, "WARNING: No cpu cfs period support"),
            (c.cpu_shares, "WARNING: No cpu shares support"),
            (c.cpuset, "WARNING: No cpuset support"),
        ]
        out += [msg for ok, msg in checks if not ok]
    if not h.ipv4_forwarding:
        out.append("WARNING: IPv4 forwarding is disabled")
    if not h.bridge_nf_iptables:
        out.append("WARNING: bridge-nf-call-iptables is disabled")
    if not h.bridge_nf_ip6tables:
        out.append("WARNING: bridge-nf-call-ip6tables is disabled")
    return out


# --- registry settings -----------------------------------------------------------------


def _is_cidr(value: str) -> bool:
    import ipaddress

    if "/" not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def registry_info(insecure: tuple[str, ...], mirrors: tuple[str, ...]) -> RegistryInfo:
    """dockerd's RegistryConfig: loopback is always insecure; an insecure entry is a CIDR
    or a registry host (``host:port``), the latter listed as a not-secure index."""
    cidrs = ["127.0.0.0/8"]
    indexes = [IndexInfo("docker.io", list(mirrors), True, True)]
    for entry in insecure:
        if _is_cidr(entry):
            if entry not in cidrs:
                cidrs.append(entry)
        elif entry != "docker.io":
            indexes.append(IndexInfo(entry, [], False, False))
    return RegistryInfo(cidrs, indexes, list(mirrors))


# --- identity and versions -------------------------------------------------------------


def engine_id(root: str) -> str:
    """The engine id kept in ``<root>/engine-id``, made on first use."""
    path = os.path.join(root, "engine-id")
    try:
        with open(path, encoding="utf-8") as f:
            value = f.read().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise from_oserror(f"read {path!r}", exc) from exc
    value = str(uuid.uuid4())
    try:
        atomic_write(path, value + "\n", 0o600)
    except OSError as exc:
        raise from_oserror(f"write {path!r}", exc) from exc
    return value


def _probe_runtime(name: str, path: str) -> Component:
    """``<runtime> --version``: first line ``<name> version X``, then ``commit: Y``."""
    version, commit = "", ""
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if " version " in line and not version:
            version = line.split(" version ", 1)[1].strip()
        elif key.strip() == "commit":
            commit = value.strip()
    return Component(name, version, {"GitCommit": commit})


# --- the service -----------------------------------------------------------------------


class SystemService:
    """Answers ``/version`` and ``/info``.

    ``container_counts`` and ``image_count`` are how the container and image services
    (not built yet) will report their numbers; absent, the counts are zero.
    """

    def __init__(
        self,
        config: SystemConfig,
        *,
        engine_id: str,
        container_counts: Callable[[], ContainerCounts] | None = None,
        image_count: Callable[[], int] | None = None,
        facts: Callable[[str], HostFacts] = host_facts,
        api_version: str,
        min_api_version: str,
    ) -> None:
        self.config = config
        self.engine_id = engine_id
        self._container_counts = container_counts
        self._image_count = image_count
        self._facts = facts
        self._api_version = api_version
        self._min_api_version = min_api_version
        self._components: list[Component] | None = None
        self._commit = git_commit()

    async def _runtime_component(self) -> list[Component]:
        if self._components is None:
            name = self.config.default_runtime
            path = self.config.runtimes.get(name, name)
            self._components = [await asyncio.to_thread(_probe_runtime, name, path)]
        return self._components

    async def _runtime_commit(self) -> str:
        c = (await self._runtime_component())[0]
        return c.details.get("GitCommit") or c.version

    async def version(self) -> VersionInfo:
        uts = os.uname()
        arch = go_arch(uts.machine)
        engine = Component(
            "Engine",
            berth.__version__,
            {
                "ApiVersion": self._api_version,
                "Arch": arch,
                "BuildTime": "",
                "Experimental": "true" if self.config.experimental else "false",
                "GitCommit": self._commit,
                "GoVersion": python_version(),
                "KernelVersion": uts.release,
                "MinAPIVersion": self._min_api_version,
                "Os": "linux",
            },
        )
        return VersionInfo(
            version=berth.__version__,
            api_version=self._api_version,
            min_api_version=self._min_api_version,
            git_commit=self._commit,
            build_time="",
            python_version=python_version(),
            os="linux",
            arch=arch,
            kernel_version=uts.release,
            experimental=self.config.experimental,
            components=[engine, *await self._runtime_component()],
        )

    async def info(self) -> SystemInfo:
        cfg = self.config
        host = await asyncio.to_thread(self._facts, cfg.root)
        counts = self._container_counts() if self._container_counts else ContainerCounts()
        images = self._image_count() if self._image_count else 0
        try:
            nfd = len(os.listdir("/proc/self/fd"))
        except OSError:
            nfd = 0
        security = ["name=seccomp,profile=default"]
        return SystemInfo(
            id=self.engine_id,
            host=host,
            containers=counts,
            images=images,
            storage_driver="overlay2",
            driver_status=[
                ("Backing Filesystem", host.backing_filesystem),
                ("Supports d_type", "true"),
                ("Native Overlay Diff", "true"),
                ("userxattr", "false"),
            ],
            logging_driver="json-file",
            plugins={"Volume": ["local"], "Network": ["bridge", "host", "null"], "Log": ["json-file"]},
            registry=registry_info(cfg.insecure_registries, cfg.registry_mirrors),
            runtimes=dict(cfg.runtimes),
            default_runtime=cfg.default_runtime,
            root=cfg.root,
            debug=cfg.debug,
            live_restore=cfg.live_restore,
            experimental=cfg.experimental,
            labels=list(cfg.labels),
            server_version=berth.__version__,
            runtime_commit=await self._runtime_commit(),
            security_options=security,
            system_time_ns=time.time_ns(),
            nfd=nfd,
            nthreads=threading.active_count(),
            warnings=_warnings(host),
        )
