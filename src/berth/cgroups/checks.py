"""Checking ``linux.resources`` before any cgroup file is touched.

:func:`validate` raises InvalidArgument naming the first bad field
(``linux.resources.cpu.quota: 500 is not a valid quota (want at least 1000 microseconds,
or -1 for no limit)``) and returns warnings for what this host will not do: a controller
that is not mounted or not available, fields cgroup v2 has no file for, kernel memory
limits (deprecated by the kernel). The ranges are the kernel's, as runc enforces them
(runc libcontainer/configs/validate and the fs/fs2 writers): cpu.shares 2..262144 (v1
clamps silently, runc refuses), CFS period 1 ms..1 s and quota at least 1 ms
(kernel/sched/core.c), blkio weights 10..1000, swappiness 0..100, cpuset lists such as
``0-3,5``, device types a/b/c with access from ``rwm``.

Field meanings: OCI runtime-spec config-linux.md "Control groups" and its subsections.
"""

from __future__ import annotations

from berth.errdefs import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .setup import Setup

__all__ = ["validate"]

_F = "linux.resources"
_U32 = (1 << 32) - 1
_I64 = (1 << 63) - 1

# The v2 controller that stands for a v1 one (cgroup-v2.rst "Controllers").
V2_EQUIVALENT = {
    "cpu": "cpu",
    "cpuset": "cpuset",
    "memory": "memory",
    "blkio": "io",
    "pids": "pids",
    "hugetlb": "hugetlb",
}


def _obj(parent: dict[str, Any], key: str, field: str) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidArgument(f"{field}: {value!r} is not an object")
    return value


def _list(parent: dict[str, Any], key: str, field: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidArgument(f"{field}: {value!r} is not a list")
    return value


def _int(
    parent: dict[str, Any], key: str, field: str, lo: int, hi: int, what: str, want: str
) -> int | None:
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{field}: {value!r} is not an integer")
    if not lo <= value <= hi:
        raise InvalidArgument(f"{field}: {value} is not a valid {what} (want {want})")
    return value


def _bool(parent: dict[str, Any], key: str, field: str) -> bool:
    value = parent.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidArgument(f"{field}: {value!r} is not a boolean")
    return value


def check_cpu_list(value: Any, field: str) -> str:
    """A cpuset list such as ``0-3,5`` (cgroup-v2.rst "cpuset.cpus"); empty means unset."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field}: {value!r} is not a string")
    text = value.strip()
    if not text:
        return ""
    for part in text.split(","):
        bounds = part.strip().split("-")
        if len(bounds) > 2 or not all(b.isdigit() and b.isascii() for b in bounds):
            raise InvalidArgument(
                f"{field}: {value!r} is not a cpu/node list (want numbers and ranges such as '0-3,5')"
            )
        if len(bounds) == 2 and int(bounds[0]) > int(bounds[1]):
            raise InvalidArgument(f"{field}: {value!r}: range {part.strip()!r} is reversed")
    return text


def check_page_size(value: Any, field: str) -> str:
    """A hugetlb page size as the kernel names its files: ``64KB``, ``2MB``, ``1GB``."""
    if (
        not isinstance(value, str)
        or len(value) < 3
        or value[-2:] not in ("KB", "MB", "GB", "TB", "PB")
        or not value[:-2].isdigit()
        or not value[:-2].isascii()
        or value[0] == "0"
    ):
        raise InvalidArgument(
            f"{field}: {value!r} is not a huge page size (want a size such as '2MB' or '1GB')"
        )
    return value


def _memory(mem: dict[str, Any], v2: bool, warn: list[str]) -> None:
    f = f"{_F}.memory"
    want = "a positive number of bytes or -1"
    limit = _int(mem, "limit", f"{f}.limit", -1, _I64, "limit", want)
    _int(mem, "reservation", f"{f}.reservation", -1, _I64, "reservation", want)
    swap = _int(
        mem,
        "swap",
        f"{f}.swap",
        -1,
        _I64,
        "swap limit",
        "a positive number of bytes of memory+swap or -1",
    )
    if swap and swap > 0:
        if not limit or limit < 0:
            raise InvalidArgument(
                f"{f}.swap: {swap} needs {f}.limit to be set (swap is the memory+swap limit)"
            )
        if swap < limit:
            raise InvalidArgument(
                f"{f}.swap: {swap} is less than {f}.limit {limit} (swap is the memory+swap limit)"
            )
    swappiness = _int(mem, "swappiness", f"{f}.swappiness", -1, _I64, "swappiness", "0 to 100")
    if swappiness is not None and swappiness > 100:
        raise InvalidArgument(
            f"{f}.swappiness: {swappiness} is not a valid swappiness (want 0 to 100)"
        )
    for key in ("kernel", "kernelTCP"):
        if _int(mem, key, f"{f}.{key}", -1, _I64, "limit", want):
            warn.append(
                f"{f}.{key}: kernel memory limits are not supported by the kernel any more, ignored"
            )
    oom = _bool(mem, "disableOOMKiller", f"{f}.disableOOMKiller")
    _bool(mem, "useHierarchy", f"{f}.useHierarchy")
    _bool(mem, "checkBeforeUpdate", f"{f}.checkBeforeUpdate")
    if v2 and oom:
        warn.append(f"{f}.disableOOMKiller: cgroup v2 cannot disable the OOM killer, ignored")
    if v2 and swappiness is not None and swappiness >= 0:
        warn.append(f"{f}.swappiness: cgroup v2 has no per-group swappiness, ignored")


def _cpu(cpu: dict[str, Any], v2: bool, warn: list[str]) -> None:
    f = f"{_F}.cpu"
    shares = _int(cpu, "shares", f"{f}.shares", 0, _I64, "cpu shares", "2 to 262144")
    if shares and not 2 <= shares <= 262144:
        raise InvalidArgument(
            f"{f}.shares: {shares} is not a valid cpu shares value (want 2 to 262144)"
        )
    quota = _int(
        cpu,
        "quota",
        f"{f}.quota",
        -1,
        _I64,
        "quota",
        "at least 1000 microseconds, or -1 for no limit",
    )
    if quota is not None and 0 < quota < 1000:
        raise InvalidArgument(
            f"{f}.quota: {quota} is not a valid quota (want at least 1000 microseconds, or -1 for no limit)"
        )
    period = _int(
        cpu, "period", f"{f}.period", 0, 1_000_000, "period", "1000 to 1000000 microseconds"
    )
    if period and period < 1000:
        raise InvalidArgument(
            f"{f}.period: {period} is not a valid period (want 1000 to 1000000 microseconds)"
        )
    _int(cpu, "burst", f"{f}.burst", 0, _I64, "burst", "a number of microseconds")
    _int(cpu, "idle", f"{f}.idle", 0, 1, "idle value", "0 or 1")
    rt_runtime = _int(
        cpu,
        "realtimeRuntime",
        f"{f}.realtimeRuntime",
        -1,
        _I64,
        "real-time runtime",
        "microseconds, or -1 for no limit",
    )
    rt_period = _int(
        cpu, "realtimePeriod", f"{f}.realtimePeriod", 0, _I64, "real-time period", "microseconds"
    )
    if v2 and (rt_runtime or rt_period):
        warn.append(
            f"{f}.realtimeRuntime: cgroup v2 has no real-time group scheduling files, ignored"
        )
    for key in ("cpus", "mems"):
        if cpu.get(key) is not None:
            check_cpu_list(cpu[key], f"{f}.{key}")


def _weight(parent: dict[str, Any], key: str, field: str) -> int | None:
    value = _int(parent, key, field, 0, 1000, "weight", "10 to 1000")
    if value and value < 10:
        raise InvalidArgument(f"{field}: {value} is not a valid weight (want 10 to 1000)")
    return value


def _device(entry: Any, field: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise InvalidArgument(f"{field}: {entry!r} is not an object")
    for key in ("major", "minor"):
        if entry.get(key) is None:
            raise InvalidArgument(f"{field}.{key}: missing (a block device needs major and minor)")
        _int(entry, key, f"{field}.{key}", 0, _U32, "device number", f"0 to {_U32}")
    return entry


def _block_io(bio: dict[str, Any], v2: bool, warn: list[str]) -> None:
    f = f"{_F}.blockIO"
    _weight(bio, "weight", f"{f}.weight")
    leaf = _weight(bio, "leafWeight", f"{f}.leafWeight")
    for i, entry in enumerate(_list(bio, "weightDevice", f"{f}.weightDevice")):
        where = f"{f}.weightDevice[{i}]"
        _device(entry, where)
        _weight(entry, "weight", f"{where}.weight")
        leaf = _weight(entry, "leafWeight", f"{where}.leafWeight") or leaf
    for key in (
        "throttleReadBpsDevice",
        "throttleWriteBpsDevice",
        "throttleReadIOPSDevice",
        "throttleWriteIOPSDevice",
    ):
        for i, entry in enumerate(_list(bio, key, f"{f}.{key}")):
            where = f"{f}.{key}[{i}]"
            _device(entry, where)
            _int(entry, "rate", f"{where}.rate", 0, (1 << 64) - 1, "rate", "a non-negative number")
    if v2 and leaf:
        warn.append(f"{f}.leafWeight: cgroup v2 has no leaf weights, ignored")


def _hugepages(limits: list[Any], warn: list[str]) -> None:
    f = f"{_F}.hugepageLimits"
    for i, entry in enumerate(limits):
        where = f"{f}[{i}]"
        if not isinstance(entry, dict):
            raise InvalidArgument(f"{where}: {entry!r} is not an object")
        check_page_size(entry.get("pageSize"), f"{where}.pageSize")
        if entry.get("limit") is None:
            raise InvalidArgument(f"{where}.limit: missing")
        _int(entry, "limit", f"{where}.limit", 0, (1 << 64) - 1, "limit", "a number of bytes")


def _network(net: dict[str, Any]) -> None:
    f = f"{_F}.network"
    _int(net, "classID", f"{f}.classID", 0, _U32, "class id", f"0 to {_U32}")
    for i, entry in enumerate(_list(net, "priorities", f"{f}.priorities")):
        where = f"{f}.priorities[{i}]"
        if not isinstance(entry, dict):
            raise InvalidArgument(f"{where}: {entry!r} is not an object")
        name = entry.get("name")
        if not isinstance(name, str) or not name or any(ch.isspace() for ch in name) or "/" in name:
            raise InvalidArgument(f"{where}.name: {name!r} is not an interface name")
        _int(entry, "priority", f"{where}.priority", 0, _U32, "priority", f"0 to {_U32}")


def _unified(unified: Any, mode: str) -> None:
    f = f"{_F}.unified"
    if mode != "v2":
        raise InvalidArgument(
            f"{f}: cgroup v2 files cannot be set on a {mode} cgroup host (use the named fields)"
        )
    if not isinstance(unified, dict):
        raise InvalidArgument(f"{f}: {unified!r} is not an object of file names to values")
    for key, value in unified.items():
        if (
            not isinstance(key, str)
            or "/" in key
            or key in (".", "..")
            or "." not in key.strip(".")
        ):
            raise InvalidArgument(
                f"{f}: {key!r} is not a cgroup file name (want 'controller.parameter', no '/')"
            )
        if key in ("cgroup.procs", "cgroup.threads", "cgroup.subtree_control"):
            raise InvalidArgument(f"{f}.{key}: the runtime owns this file")
        if not isinstance(value, str):
            raise InvalidArgument(f"{f}.{key}: {value!r} is not a string")


def _is_set(value: Any) -> bool:
    return value not in (None, 0, "", False, [], {})


def needed_controllers(res: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, v1 controller) pairs the resources need."""
    out: list[tuple[str, str]] = []
    mem = res.get("memory") or {}
    if any(
        _is_set(mem.get(k))
        for k in ("limit", "reservation", "swap", "swappiness", "disableOOMKiller")
    ):
        out.append((f"{_F}.memory", "memory"))
    cpu = res.get("cpu") or {}
    if any(
        _is_set(cpu.get(k))
        for k in ("shares", "quota", "period", "burst", "idle", "realtimeRuntime", "realtimePeriod")
    ):
        out.append((f"{_F}.cpu", "cpu"))
    if any(_is_set(cpu.get(k)) for k in ("cpus", "mems")):
        out.append((f"{_F}.cpu.cpus", "cpuset"))
    if _is_set(res.get("blockIO")):
        out.append((f"{_F}.blockIO", "blkio"))
    if _is_set(res.get("hugepageLimits")):
        out.append((f"{_F}.hugepageLimits", "hugetlb"))
    if res.get("pids") is not None:
        out.append((f"{_F}.pids", "pids"))
    net = res.get("network") or {}
    if _is_set(net.get("classID")):
        out.append((f"{_F}.network.classID", "net_cls"))
    if _is_set(net.get("priorities")):
        out.append((f"{_F}.network.priorities", "net_prio"))
    if res.get("devices") is not None:
        out.append((f"{_F}.devices", "devices"))
    return out


def _availability(res: dict[str, Any], setup: Setup, warn: list[str]) -> None:
    for field, controller in needed_controllers(res):
        if setup.mode == "v2":
            if controller in ("net_cls", "net_prio"):
                warn.append(f"{field}: cgroup v2 has no {controller} controller, ignored")
                continue
            if controller == "devices":
                continue  # an eBPF program, not a controller
            v2name = V2_EQUIVALENT[controller]
            if v2name not in setup.unified_controllers:
                warn.append(
                    f"{field}: the {v2name} controller is not available on this host, ignored"
                )
        elif controller not in setup.v1:
            v2name = V2_EQUIVALENT.get(controller, "")
            if setup.mode == "hybrid" and v2name and v2name in setup.unified_controllers:
                continue  # applied through the unified hierarchy
            warn.append(
                f"{field}: the {controller} controller is not mounted on this host, ignored"
            )


def validate(resources: dict[str, Any] | None, mode: Setup | str) -> list[str]:
    """Check every value of ``resources`` (OCI ``linux.resources``) for a host in ``mode``
    (a :class:`Setup`, or just ``"v1"``/``"v2"``/``"hybrid"``). Raises InvalidArgument
    naming the field; returns warnings for what this host will ignore."""
    warn: list[str] = []
    if resources is None:
        return warn
    if not isinstance(resources, dict):
        raise InvalidArgument(f"{_F}: {resources!r} is not an object")
    setup = None if isinstance(mode, str) else mode
    name = mode if isinstance(mode, str) else mode.mode
    if name not in ("v1", "v2", "hybrid"):
        raise InvalidArgument(f"cgroup mode {name!r} is not one of 'v1', 'v2', 'hybrid'")
    v2 = name == "v2"
    if (mem := _obj(resources, "memory", f"{_F}.memory")) is not None:
        _memory(mem, v2, warn)
    if (cpu := _obj(resources, "cpu", f"{_F}.cpu")) is not None:
        _cpu(cpu, v2, warn)
    if (bio := _obj(resources, "blockIO", f"{_F}.blockIO")) is not None:
        _block_io(bio, v2, warn)
    _hugepages(_list(resources, "hugepageLimits", f"{_F}.hugepageLimits"), warn)
    if (net := _obj(resources, "network", f"{_F}.network")) is not None:
        _network(net)
    if (pids := _obj(resources, "pids", f"{_F}.pids")) is not None:
        _int(
            pids,
            "limit",
            f"{_F}.pids.limit",
            -(1 << 63),
            _I64,
            "limit",
            "a number, 0 or less for no limit",
        )
    if resources.get("devices") is not None:
        from . import _rules

        _rules.parse(resources["devices"])
    if resources.get("unified") is not None:
        _unified(resources["unified"], name)
    if _is_set(resources.get("rdma")):
        warn.append(f"{_F}.rdma: rdma limits are not supported by berth, ignored")
    if setup is not None:
        _availability(resources, setup, warn)
    return warn
