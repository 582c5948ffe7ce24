"""v2 ``cpu`` controller (cgroup-v2.rst "CPU", "CPU Interface Files").

- ``cpu.weight`` (1..10000, default 100): OCI has only v1 ``shares`` (2..262144, default
  1024), converted linearly as runc does: ``1 + ((shares - 2) * 9999) / 262142``;
- ``cpu.max``: ``$QUOTA $PERIOD`` in microseconds, ``max`` for no quota. The kernel
  accepts ``$QUOTA`` alone and keeps the period, so a quota-only update keeps the
  period and a period-only update keeps the quota (runc resets the other to its
  default; on a new group the result is the same);
- ``cpu.max.burst`` (5.14+), ``cpu.idle`` (5.15+);
- ``cpu.stat``: ``usage_usec``, ``user_usec``, ``system_usec``, ``nr_periods``,
  ``nr_throttled``, ``throttled_usec``, present even without the controller enabled.

Real-time bandwidth has no v2 file: validate warns and nothing is written.

OCI: config-linux.md "CPU".
"""

from __future__ import annotations

from .._files import read_flat, read_optional, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._files import Resources

_F = "linux.resources.cpu"


def shares_to_weight(shares: int) -> int:
    """runc's ConvertCPUSharesToCgroupV2Value; 0 (unset) stays 0."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def apply(resources: Resources, path: str) -> None:
    cpu = resources.get("cpu")
    if not cpu:
        return
    if cpu.get("shares"):
        write(path, "cpu.weight", str(shares_to_weight(cpu["shares"])), f"{_F}.shares")
    quota = cpu.get("quota") or 0
    period = cpu.get("period") or 0
    if quota or period:
        if quota:
            value = "max" if quota < 0 else str(quota)
        else:
            value = (read_optional(path, "cpu.max") or "max").split()[0]
        if period:
            value += f" {period}"
        write(path, "cpu.max", value, f"{_F}.quota" if quota else f"{_F}.period")
    if cpu.get("burst") is not None:
        write(
            path,
            "cpu.max.burst",
            str(cpu["burst"]),
            f"{_F}.burst",
            missing="the kernel has no CFS burst (needs Linux 5.14)",
        )
    if cpu.get("idle") is not None:
        write(
            path,
            "cpu.idle",
            str(cpu["idle"]),
            f"{_F}.idle",
            missing="the kernel has no idle cgroups (needs Linux 5.15)",
        )


def stats(path: str) -> dict[str, Any]:
    """``{"usage": {...}, "throttling": {...}}``, times in ns."""
    st = read_flat(path, "cpu.stat")
    return {
        "usage": {
            "total": st.get("usage_usec", 0) * 1000,
            "percpu": [],
            "percpu_kernel": [],
            "percpu_user": [],
            "kernel": st.get("system_usec", 0) * 1000,
            "user": st.get("user_usec", 0) * 1000,
        },
        "throttling": {
            "periods": st.get("nr_periods", 0),
            "throttledPeriods": st.get("nr_throttled", 0),
            "throttledTime": st.get("throttled_usec", 0) * 1000,
        },
    }
