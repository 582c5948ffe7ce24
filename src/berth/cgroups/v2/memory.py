"""v2 ``memory`` controller (cgroup-v2.rst "Memory", "Memory Interface Files").

- ``memory.max``: the hard limit (OCI ``limit``, -1 is ``max``);
- ``memory.swap.max``: swap *alone*, while OCI ``swap`` is memory+swap as in v1, so
  berth writes ``swap - limit`` (runc ConvertMemorySwapToCgroupV2Value); ``-1`` is
  ``max``; an unlimited memory with swap unset also makes swap unlimited; swap equal to
  the limit is ``0``, no swap. It is written before ``memory.max`` as runc does. The
  file exists only with swap accounting;
- ``memory.low``: best-effort protection, OCI ``reservation``;
- ``checkBeforeUpdate``: refuse a limit at or below ``memory.current`` rather than let
  the kernel reclaim or OOM-kill to reach it (runc CheckMemoryUsage).

v2 cannot disable the OOM killer and has no swappiness or kernel memory limits:
validate warns and nothing is written.

Stats: ``memory.current``/``memory.max``/``memory.peak`` (5.19+), the swap files
(reported as memory+swap like v1, as runc does), ``memory.stat`` as ``raw`` with
``cache`` = ``file``; ``memory.events`` ``max`` as ``failcnt`` and ``oom_kill``.

OCI: config-linux.md "Memory".
"""

from __future__ import annotations

from berth.errdefs import FailedPrecondition

from .._files import MAX_U64, exists, read_flat, read_optional, read_uint, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._files import Resources

_F = "linux.resources.memory"


def _num(value: int) -> str:
    return "max" if value == -1 else str(value)


def swap_to_v2(swap: int, limit: int) -> int | None:
    """The ``memory.swap.max`` value for OCI (memory+swap) ``swap``; None: leave it."""
    if limit == -1 and swap == 0:
        return -1
    if swap == -1:
        return -1
    if swap == 0:
        return None
    return swap - limit


def _check_usage(path: str, limit: int, swap: int) -> None:
    text = read_optional(path, "memory.current")
    if text is None:
        return
    usage = int(text)
    if swap > 0 and swap <= usage:
        raise FailedPrecondition(f"{_F}.swap: refusing memory+swap limit {swap} <= usage {usage}")
    if limit > 0 and limit <= usage:
        raise FailedPrecondition(f"{_F}.limit: refusing memory limit {limit} <= usage {usage}")


def apply(resources: Resources, path: str) -> None:
    mem = resources.get("memory")
    if not mem:
        return
    limit = mem.get("limit") or 0
    swap = mem.get("swap") or 0
    if mem.get("checkBeforeUpdate"):
        _check_usage(path, limit, swap)
    swap_max = swap_to_v2(swap, limit)
    if swap_max is not None:
        if swap_max == -1 and not exists(path, "memory.swap.max"):
            pass  # nothing to lift without swap accounting
        else:
            write(
                path,
                "memory.swap.max",
                _num(swap_max),
                f"{_F}.swap",
                missing="the kernel does not account swap (CONFIG_MEMCG_SWAP, swapaccount=1)",
            )
    if limit:
        write(path, "memory.max", _num(limit), f"{_F}.limit")
    if mem.get("reservation"):
        write(path, "memory.low", _num(mem["reservation"]), f"{_F}.reservation")


def stats(path: str) -> dict[str, Any]:
    raw = read_flat(path, "memory.stat")
    events = read_flat(path, "memory.events")
    usage = read_uint(path, "memory.current", 0)
    limit = read_uint(path, "memory.max", MAX_U64)
    swap_usage = read_uint(path, "memory.swap.current", 0)
    swap_limit = read_uint(path, "memory.swap.max", MAX_U64)
    if swap_limit != MAX_U64 and limit != MAX_U64:
        swap_limit += limit
    else:
        swap_limit = MAX_U64
    zero = {"limit": 0, "usage": 0, "max": 0, "failcnt": 0}
    return {
        "cache": raw.get("file", 0),
        "usage": {
            "limit": limit,
            "usage": usage,
            "max": read_uint(path, "memory.peak", 0),
            "failcnt": events.get("max", 0),
        },
        "swap": {
            "limit": swap_limit,
            "usage": swap_usage + usage,
            "max": read_uint(path, "memory.swap.peak", 0),
            "failcnt": 0,
        },
        "kernel": dict(zero),
        "kernelTCP": dict(zero),
        "raw": raw,
    }


def oom_count(path: str) -> int:
    return read_flat(path, "memory.events").get("oom_kill", 0)
