"""``events``: a container's resource usage and OOM kills as JSON lines (runc's
``events``, shapes from runc ``types/events.go``).

Each line is one event::

    {"type":"stats","id":"<id>","data":{"cpu":{…},"cpuset":{…},"memory":{…},"pids":{…},
     "blkio":{…},"hugetlb":{…},"intel_rdt":{},"network_interfaces":null}}
    {"type":"oom","id":"<id>"}

``data`` follows runc's Go structs, ``omitempty`` included: a zero counter marked
``omitempty`` there is left out here too (``"throttling":{}`` when never throttled,
``pids.limit`` absent when unlimited), so a consumer written for runc reads berth's output
unchanged.

``--stats`` prints one stats event and exits. Otherwise a stats event is printed every
``--interval`` (a Go duration: ``5s``, ``100ms``, ``1m30s``), and an ``oom`` event each
time the kernel OOM-kills a process of the container, within ~100 ms. runc learns about
OOMs from an eventfd on ``memory.oom_control`` (cgroup v1) or inotify on
``memory.events`` (v2); berth polls the group's OOM-kill count
(:meth:`berth.cgroups.Manager.oom_count`: ``oom_kill`` of ``memory.oom_control`` or of
v2 ``memory.events``), which works the same on both and needs no extra file descriptors.
Only kills after ``events`` started are reported. The stream ends when the container's
cgroup is removed (``delete``), as runc does.
"""

from __future__ import annotations

import time

from berth.errdefs import BerthError, Conflict, InvalidArgument, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from berth.runtime.state import Store

__all__ = ["parse_duration", "runc_stats", "stats_event", "stream"]

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
OOM_POLL = 0.1  # seconds between two reads of the OOM-kill count
_BLKIO_KEYS = (
    "ioServiceBytesRecursive", "ioServicedRecursive", "ioQueueRecursive", "ioServiceTimeRecursive",
    "ioWaitTimeRecursive", "ioMergedRecursive", "ioTimeRecursive", "sectorsRecursive",
)  # fmt: skip
_BLKIO_ENTRY = ("major", "minor", "op", "value")
_THROTTLING = ("periods", "throttledPeriods", "throttledTime")
_CPUSET_FLAGS = (
    "cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
    "memory_spread_slab", "memory_pressure", "sched_load_balance", "sched_relax_domain_level",
)  # fmt: skip


def parse_duration(text: str, flag: str = "interval") -> float:
    """A Go ``time.ParseDuration`` string in seconds: ``5s``, ``100ms``, ``1h2m3.5s``;
    a bare ``0`` is zero. Must be positive (runc: "duration interval must be greater
    than 0")."""
    s = text.strip()
    total = 0.0
    if s != "0":
        i = 0
        if not s:
            raise InvalidArgument(f"invalid value {text!r} for flag -{flag}: empty duration")
        while i < len(s):
            j = i
            while j < len(s) and (s[j].isdigit() or s[j] == "."):
                j += 1
            k = j
            while k < len(s) and not (s[k].isdigit() or s[k] == "."):
                k += 1
            num, unit = s[i:j], s[j:k]
            try:
                value = float(num)
            except ValueError:
                value = -1.0
            if value < 0 or unit not in _UNITS:
                raise InvalidArgument(
                    f"invalid value {text!r} for flag -{flag}: not a duration (want e.g. 5s, 500ms, 1m)"
                )
            total += value * _UNITS[unit]
            i = k
    if total <= 0:
        raise InvalidArgument("duration interval must be greater than 0")
    return total


def _omit(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Go's ``omitempty`` for ``keys``: drop them when zero, empty or missing."""
    return {k: v for k, v in d.items() if k not in keys or v}


def _mem_entry(e: dict[str, Any]) -> dict[str, Any]:
    d = {k: e.get(k, 0) for k in ("limit", "usage", "max", "failcnt")}
    return _omit(d, "usage", "max")


def runc_stats(s: dict[str, Any]) -> dict[str, Any]:
    """:meth:`berth.cgroups.Manager.stats` as runc's ``types.Stats`` JSON."""
    cpu = s.get("cpu") or {}
    usage = cpu.get("usage") or {}
    throttling = cpu.get("throttling") or {}
    cpuset = s.get("cpuset") or {}
    mem = s.get("memory") or {}
    pids = s.get("pids") or {}
    blkio = s.get("blkio") or {}
    return {
        "cpu": {
            "usage": _omit(
                {
                    "total": usage.get("total", 0),
                    **{k: usage.get(k) or [] for k in ("percpu", "percpu_kernel", "percpu_user")},
                    "kernel": usage.get("kernel", 0),
                    "user": usage.get("user", 0),
                },
                "total", "percpu", "percpu_kernel", "percpu_user",
            ),
            "throttling": _omit(
                {k: throttling.get(k, 0) for k in _THROTTLING}, *_THROTTLING
            ),
        },
        "cpuset": _omit(
            {
                "cpus": cpuset.get("cpus") or [],
                "cpu_exclusive": cpuset.get("cpu_exclusive", 0),
                "mems": cpuset.get("mems") or [],
                **{k: cpuset.get(k, 0) for k in _CPUSET_FLAGS if k != "cpu_exclusive"},
            },
            "cpus", "mems",
        ),
        "memory": _omit(
            {
                "cache": mem.get("cache", 0),
                **{k: _mem_entry(mem.get(k) or {}) for k in ("usage", "swap", "kernel", "kernelTCP")},
                "raw": dict(sorted((mem.get("raw") or {}).items())),
            },
            "cache", "raw",
        ),
        "pids": _omit({"current": pids.get("current", 0), "limit": pids.get("limit", 0)}, "current", "limit"),
        "blkio": {k: [_omit(dict(e), *_BLKIO_ENTRY) for e in blkio[k]] for k in _BLKIO_KEYS if blkio.get(k)},
        "hugetlb": {
            size: _omit({"usage": h.get("usage", 0), "max": h.get("max", 0), "failcnt": h.get("failcnt", 0)}, "usage", "max")
            for size, h in (s.get("hugetlb") or {}).items()
        },
        "intel_rdt": {},
        "network_interfaces": None,
    }


def _manager(store: Store, container_id: str) -> Any:
    from berth import cgroups
    from berth.runtime.container import status_of
    from berth.runtime.state import STOPPED

    st = store.load(container_id)
    if status_of(store, st) == STOPPED:
        raise Conflict(f"container with id {container_id} is not running")
    if not st.cgroup_path:
        raise NotFound(f"container {container_id} has no cgroup")
    return cgroups.Manager.load(cgroups.detect(), st.cgroup_path)


def stats_event(store: Store, container_id: str) -> dict[str, Any]:
    """One ``{"type":"stats",…}`` event (``events --stats``)."""
    m = _manager(store, container_id)
    return {"type": "stats", "id": container_id, "data": runc_stats(m.stats())}


def stream(
    store: Store,
    container_id: str,
    interval: float,
    emit: Callable[[dict[str, Any]], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Call ``emit`` with a stats event every ``interval`` seconds and an oom event per
    new OOM kill, until the container's cgroup is gone."""
    m = _manager(store, container_id)
    seen = m.oom_count()
    next_stats = clock() + interval
    while True:
        now = clock()
        sleep(max(0.0, min(OOM_POLL, next_stats - now)))
        if not m.exists():
            return
        try:
            count = m.oom_count()
        except BerthError:
            count = seen
        for _ in range(min(count - seen, 1000)):
            emit({"type": "oom", "id": container_id})
        seen = max(seen, count)
        if clock() >= next_stats:
            try:
                data = m.stats()
            except NotFound:
                return
            emit({"type": "stats", "id": container_id, "data": runc_stats(data)})
            next_stats += interval
            if next_stats < clock():
                next_stats = clock() + interval  # we fell behind (suspended): do not burst
