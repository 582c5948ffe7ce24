"""Host facts: what the kernel's files say about this machine.

CPUs from sched_getaffinity(2) (what Go's runtime.NumCPU counts), memory from proc(5)
``/proc/meminfo``, uname(2), os-release(5), the ``/proc/sys/net`` switches, the cgroup
setup (:func:`berth.cgroups.detect`) and the filesystem under the data root
(``/proc/self/mountinfo``). Read each time they are asked for; ``proc``, ``etc`` and
``detect`` are parameters so that tests describe a host with a temp tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from berth import cgroups
from berth.errdefs import BerthError

__all__ = ["CgroupFeatures", "HostFacts", "cgroup_features", "host_facts"]

# statfs(2) names as dockerd's graphdriver reports them ("Backing Filesystem").
_FS_NAMES = {"ext2": "extfs", "ext3": "extfs", "ext4": "extfs", "overlay": "overlayfs"}


@dataclass(frozen=True)
class CgroupFeatures:
    version: str  # "1" (v1 and hybrid: berth limits through v1) or "2"
    driver: str
    memory_limit: bool
    swap_limit: bool
    kernel_memory: bool
    kernel_memory_tcp: bool
    cpu_cfs_period: bool
    cpu_cfs_quota: bool
    cpu_shares: bool
    cpuset: bool
    pids_limit: bool
    oom_kill_disable: bool


@dataclass(frozen=True)
class HostFacts:
    hostname: str
    kernel_version: str
    operating_system: str
    os_version: str
    architecture: str  # uname(2) spelling
    ncpu: int
    mem_total: int
    ipv4_forwarding: bool
    bridge_nf_iptables: bool
    bridge_nf_ip6tables: bool
    backing_filesystem: str
    http_proxy: str
    https_proxy: str
    no_proxy: str
    cgroups: CgroupFeatures | None



def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _flag(path: str) -> bool:
    return (_read(path) or "").strip() == "1"


def _mem_total(proc: str) -> int:
    for line in (_read(f"{proc}/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            return int(parts[1]) * (1024 if parts[-1] == "kB" else 1)
    return 0


def _os_release(etc: str) -> tuple[str, str]:
    """PRETTY_NAME and VERSION_ID per os-release(5) (/etc first, then /usr/lib)."""
    text = _read(f"{etc}/os-release")
    if text is None:
        text = _read("/usr/lib/os-release") if etc == "/etc" else None
    values: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, eq, value = line.strip().partition("=")
        if not eq or key.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        values[key] = value
    name = values.get("PRETTY_NAME") or values.get("NAME") or "Linux"
    return name, values.get("VERSION_ID", "")


def _backing_filesystem(path: str, proc: str) -> str:
    """The fstype of the mount holding ``path`` (longest mount point that prefixes it)."""
    best, fstype = "", ""
    real = os.path.realpath(path)
    for line in (_read(f"{proc}/self/mountinfo") or "").splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5:
            continue
        mnt = fields[4].replace("\\040", " ")
        inside = real == mnt or real.startswith(mnt.rstrip("/") + "/")
        if inside and len(mnt) >= len(best):
            best, fstype = mnt, right.split()[0]
    return _FS_NAMES.get(fstype, fstype)


def _masked_proxy(value: str) -> str:
    """A proxy URL with its credentials hidden, as dockerd shows it."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        return value
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return value
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://xxxxx{':xxxxx' if colon else ''}@{host}" if user else value


def _proxy(name: str) -> str:
    return _masked_proxy(os.environ.get(name) or os.environ.get(name.lower()) or "")


def cgroup_features(setup: cgroups.Setup) -> CgroupFeatures:
    """Which resource limits the cgroup setup can enforce (dockerd's sysinfo checks)."""
    if setup.mode == "v2":
        ctrls = setup.unified_controllers
        memory = "memory" in ctrls
        cpu = "cpu" in ctrls
        return CgroupFeatures(
            version="2",
            driver="cgroupfs",
            memory_limit=memory,
            swap_limit=memory,
            kernel_memory=False,
            kernel_memory_tcp=False,
            cpu_cfs_period=cpu,
            cpu_cfs_quota=cpu,
            cpu_shares=cpu,
            cpuset="cpuset" in ctrls,
            pids_limit="pids" in ctrls,
            oom_kill_disable=False,
        )
    mem_dir = setup.v1.get("memory")
    cpu_dir = setup.v1.get("cpu")

    def has(d: str | None, name: str) -> bool:
        return d is not None and os.path.exists(os.path.join(d, name))

    return CgroupFeatures(
        version="1",
        driver="cgroupfs",
        memory_limit=mem_dir is not None,
        swap_limit=has(mem_dir, "memory.memsw.limit_in_bytes"),
        kernel_memory=has(mem_dir, "memory.kmem.limit_in_bytes"),
        kernel_memory_tcp=has(mem_dir, "memory.kmem.tcp.limit_in_bytes"),
        cpu_cfs_period=has(cpu_dir, "cpu.cfs_period_us"),
        cpu_cfs_quota=has(cpu_dir, "cpu.cfs_quota_us"),
        cpu_shares=has(cpu_dir, "cpu.shares"),
        cpuset="cpuset" in setup.v1,
        pids_limit="pids" in setup.v1,
        oom_kill_disable=has(mem_dir, "memory.oom_control"),
    )


def host_facts(
    root: str,
    *,
    proc: str = "/proc",
    etc: str = "/etc",
    detect: Callable[[], cgroups.Setup] = cgroups.detect,
) -> HostFacts:
    """Read the host facts now; ``proc``, ``etc`` and ``detect`` are seams for tests."""
    uts = os.uname()
    try:
        ncpu = len(os.sched_getaffinity(0))
    except OSError:
        ncpu = os.cpu_count() or 1
    try:
        cg: CgroupFeatures | None = cgroup_features(detect())
    except BerthError:
        cg = None
    os_name, os_version = _os_release(etc)
    return HostFacts(
        hostname=uts.nodename,
        kernel_version=uts.release,
        operating_system=os_name,
        os_version=os_version,
        architecture=uts.machine,
        ncpu=ncpu,
        mem_total=_mem_total(proc),
        ipv4_forwarding=_flag(f"{proc}/sys/net/ipv4/ip_forward"),
        bridge_nf_iptables=_flag(f"{proc}/sys/net/bridge/bridge-nf-call-iptables"),
        bridge_nf_ip6tables=_flag(f"{proc}/sys/net/bridge/bridge-nf-call-ip6tables"),
        backing_filesystem=_backing_filesystem(root, proc),
        http_proxy=_proxy("HTTP_PROXY"),
        https_proxy=_proxy("HTTPS_PROXY"),
        no_proxy=os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or "",
        cgroups=cg,
    )


