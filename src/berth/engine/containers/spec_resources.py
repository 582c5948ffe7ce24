"""``linux.resources`` and ``process.rlimits`` from Docker's ``HostConfig.Resources``
(moby ``daemon/daemon_unix.go`` getMemoryResources, getCPUResources, getPidsLimit,
getBlkio*Devices; ``daemon/oci_linux.go`` WithRlimits).

Units as Docker's API gives them: bytes for memory, CPU shares as a relative weight,
``nano_cpus`` in 10⁻⁹ CPUs (turned into a CFS quota over a 100 ms period), periods and
quotas in microseconds. ``memory_swap`` is memory+swap: -1 is unlimited swap, 0 unset.
``pids_limit`` 0 or negative is "no limit" (-1 to the runtime). The device cgroup list is
built with the devices (:mod:`.spec_devices`), not here.

An rlimit's hard limit can only be raised above the caller's own by a process holding
CAP_SYS_RESOURCE. When the caller says it lacks it (``caller_hard_limits``), a ulimit
above is refused here with the limit named, instead of failing inside the runtime.
"""

from __future__ import annotations

import resource
from typing import Any

from berth.errdefs import InvalidArgument
from berth.runtime.config import RLIMITS

from .model import Resources
from .spec_devices import HostView, block_device_numbers

__all__ = ["RLIM_INFINITY", "caller_hard_limits", "linux_resources", "rlimits"]

RLIM_INFINITY = (1 << 64) - 1
_CFS_PERIOD = 100_000  # µs: 100 ms, as Docker uses for --cpus


def _memory(r: Resources) -> dict[str, Any]:
    mem: dict[str, Any] = {}
    if r.memory > 0:
        mem["limit"] = r.memory
    if r.memory_reservation > 0:
        mem["reservation"] = r.memory_reservation
    if r.memory_swap > 0 or (r.memory_swap == -1 and r.memory > 0):
        mem["swap"] = r.memory_swap
    if r.memory_swappiness is not None and r.memory_swappiness >= 0:
        mem["swappiness"] = r.memory_swappiness
    if r.oom_kill_disable is not None:
        mem["disableOOMKiller"] = r.oom_kill_disable
    return mem


def _cpu(r: Resources) -> dict[str, Any]:
    cpu: dict[str, Any] = {}
    if r.cpu_shares:
        if r.cpu_shares < 0:
            raise InvalidArgument(
                f"invalid CPU shares ({r.cpu_shares}): value must be a positive integer"
            )
        cpu["shares"] = r.cpu_shares
    if r.nano_cpus > 0:
        cpu["quota"] = r.nano_cpus * _CFS_PERIOD // 1_000_000_000
        cpu["period"] = _CFS_PERIOD
    if r.cpu_quota:
        cpu["quota"] = r.cpu_quota
    if r.cpu_period:
        cpu["period"] = r.cpu_period
    if r.cpu_realtime_runtime:
        cpu["realtimeRuntime"] = r.cpu_realtime_runtime
    if r.cpu_realtime_period:
        cpu["realtimePeriod"] = r.cpu_realtime_period
    if r.cpuset_cpus:
        cpu["cpus"] = r.cpuset_cpus
    if r.cpuset_mems:
        cpu["mems"] = r.cpuset_mems
    return cpu


def _block_io(r: Resources, host: HostView) -> dict[str, Any]:
    bio: dict[str, Any] = {}
    if r.blkio_weight:
        bio["weight"] = r.blkio_weight
    if r.blkio_weight_device:
        bio["weightDevice"] = []
        for wd in r.blkio_weight_device:
            major, minor = block_device_numbers(host, wd.path, "--blkio-weight-device")
            bio["weightDevice"].append({"major": major, "minor": minor, "weight": wd.weight})
    for key, devs, what in (
        ("throttleReadBpsDevice", r.blkio_device_read_bps, "--device-read-bps"),
        ("throttleWriteBpsDevice", r.blkio_device_write_bps, "--device-write-bps"),
        ("throttleReadIOPSDevice", r.blkio_device_read_iops, "--device-read-iops"),
        ("throttleWriteIOPSDevice", r.blkio_device_write_iops, "--device-write-iops"),
    ):
        if devs:
            bio[key] = []
            for td in devs:
                major, minor = block_device_numbers(host, td.path, what)
                bio[key].append({"major": major, "minor": minor, "rate": td.rate})
    return bio


def linux_resources(r: Resources, host: HostView) -> dict[str, Any]:
    """``linux.resources`` without ``devices``; empty sections are left out."""
    out: dict[str, Any] = {}
    if mem := _memory(r):
        out["memory"] = mem
    if cpu := _cpu(r):
        out["cpu"] = cpu
    if r.pids_limit is not None:
        out["pids"] = {"limit": r.pids_limit if r.pids_limit > 0 else -1}
    if bio := _block_io(r, host):
        out["blockIO"] = bio
    return out


def _unsigned(v: int) -> int:
    return RLIM_INFINITY if v < 0 else v


def rlimits(r: Resources, caller_hard: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """``process.rlimits`` from ``--ulimit`` (-1 is unlimited). ``caller_hard`` maps
    ``RLIMIT_*`` names to the hard limits of the process that starts the container when
    it lacks CAP_SYS_RESOURCE; a hard limit above one of them is refused."""
    out: list[dict[str, Any]] = []
    for ul in r.ulimits:
        kind = "RLIMIT_" + ul.name.upper()
        if kind not in RLIMITS:
            raise InvalidArgument(f"invalid ulimit type: {ul.name}")
        soft, hard = _unsigned(ul.soft), _unsigned(ul.hard)
        if soft > hard:
            raise InvalidArgument(
                f"ulimit soft limit must be less than or equal to hard limit: {ul.soft} > {ul.hard}"
            )
        if caller_hard is not None and kind in caller_hard:
            ceiling = _unsigned(caller_hard[kind])
            if hard > ceiling:
                shown = "unlimited" if hard == RLIM_INFINITY else str(hard)
                raise InvalidArgument(
                    f"ulimit {ul.name}: hard limit {shown} is above this host's hard limit {ceiling}; "
                    "raising it needs CAP_SYS_RESOURCE, which this host lacks"
                )
        entry = {"type": kind, "hard": hard, "soft": soft}
        out = [e for e in out if e["type"] != kind] + [entry]
    return out


def caller_hard_limits() -> dict[str, int]:
    """This process's hard limits by ``RLIMIT_*`` name (unlimited as RLIM_INFINITY)."""
    out: dict[str, int] = {}
    for name, num in RLIMITS.items():
        try:
            hard = resource.getrlimit(num)[1]
        except (ValueError, OSError):
            continue
        out[name] = _unsigned(hard)
    return out
