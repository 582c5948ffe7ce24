"""v1 ``memory`` controller (Documentation/admin-guide/cgroup-v1/memory.rst).

Limits, in bytes, ``-1`` meaning unlimited:

- ``memory.limit_in_bytes``: the memory limit. Lowering it below the current usage fails
  with EBUSY once reclaim gives up; the error then says so with the usage (runc);
- ``memory.memsw.limit_in_bytes``: memory+swap (OCI ``swap`` is that sum too). The
  kernel keeps memsw >= memory at all times, so when both change the one that keeps the
  invariant goes first: memsw first when it grows above the current memory limit (or
  becomes unlimited), else memory first (runc ``setMemoryAndSwap``). An unlimited memory
  with swap unset makes swap unlimited too. The file exists only with swap accounting;
- ``memory.soft_limit_in_bytes``: OCI ``reservation``;
- ``memory.oom_control``: writing 1 disables the OOM killer; reading gives
  ``oom_kill_disable``, ``under_oom`` and (Linux 4.13+) ``oom_kill``, the count of kills;
- ``memory.swappiness``: 0..100.

``kernel``/``kernelTCP`` (``memory.kmem.*``) are ignored: the kernel deprecated them
(5.4) and removed the limit (6.1); :func:`berth.cgroups.validate` warns.

Stats: ``memory.{usage,max_usage,failcnt,limit}``, the same for ``memsw``, ``kmem`` and
``kmem.tcp``, and ``memory.stat`` as ``raw`` with ``cache`` taken from it.

OCI: config-linux.md "Memory".
"""

from __future__ import annotations

import errno

from berth.errdefs import BerthError, FailedPrecondition

from .._files import exists, read_flat, read_uint, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._files import Resources

_F = "linux.resources.memory"
_MEMSW = "memory.memsw.limit_in_bytes"
_NO_SWAP = "the kernel does not account swap (boot with swapaccount=1)"


def _set_memory(path: str, value: int) -> None:
    try:
        write(path, "memory.limit_in_bytes", str(value), f"{_F}.limit")
    except BerthError as err:
        if getattr(err, "errno", 0) != errno.EBUSY:
            raise
        usage = read_uint(path, "memory.usage_in_bytes", 0)
        peak = read_uint(path, "memory.max_usage_in_bytes", 0)
        raise FailedPrecondition(
            f"{_F}.limit: cannot set {value}, below the current usage {usage} "
            f"(peak {peak}): {err.message}"
        ) from err


def _set_swap(path: str, value: int) -> None:
    write(path, _MEMSW, str(value), f"{_F}.swap", missing=_NO_SWAP)


def apply(resources: Resources, path: str) -> None:
    mem = resources.get("memory")
    if not mem:
        return
    limit = mem.get("limit") or 0
    swap = mem.get("swap") or 0
    if limit == -1 and swap == 0 and exists(path, _MEMSW):
        swap = -1
    if limit and swap:
        current = read_uint(path, "memory.limit_in_bytes")
        if swap == -1 or current < swap:
            _set_swap(path, swap)
            _set_memory(path, limit)
        else:
            _set_memory(path, limit)
            _set_swap(path, swap)
    elif limit:
        _set_memory(path, limit)
    elif swap:
        _set_swap(path, swap)
    if mem.get("reservation"):
        write(path, "memory.soft_limit_in_bytes", str(mem["reservation"]), f"{_F}.reservation")
    if mem.get("disableOOMKiller"):
        write(path, "memory.oom_control", "1", f"{_F}.disableOOMKiller")
    swappiness = mem.get("swappiness")
    if swappiness is not None and swappiness >= 0:
        write(path, "memory.swappiness", str(swappiness), f"{_F}.swappiness")


def _entry(path: str, prefix: str) -> dict[str, int]:
    if not exists(path, f"{prefix}.usage_in_bytes"):
        return {"limit": 0, "usage": 0, "max": 0, "failcnt": 0}
    return {
        "limit": read_uint(path, f"{prefix}.limit_in_bytes", 0),
        "usage": read_uint(path, f"{prefix}.usage_in_bytes", 0),
        "max": read_uint(path, f"{prefix}.max_usage_in_bytes", 0),
        "failcnt": read_uint(path, f"{prefix}.failcnt", 0),
    }


def stats(path: str) -> dict[str, Any]:
    raw = read_flat(path, "memory.stat")
    return {
        "cache": raw.get("cache", 0),
        "usage": _entry(path, "memory"),
        "swap": _entry(path, "memory.memsw"),
        "kernel": _entry(path, "memory.kmem"),
        "kernelTCP": _entry(path, "memory.kmem.tcp"),
        "raw": raw,
    }


def oom_count(path: str) -> int:
    """OOM kills in the group so far (``oom_kill`` of memory.oom_control, Linux 4.13+)."""
    return read_flat(path, "memory.oom_control").get("oom_kill", 0)
