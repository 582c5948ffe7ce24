"""v1 ``cpu`` controller: CFS shares and bandwidth, real-time bandwidth.

Files (Documentation/scheduler/sched-bwc.rst, sched-rt-group.rst; cgroup-v1 has no
page of its own for cpu):

- ``cpu.shares``: relative weight, the kernel clamps to 2..262144; runc reads it back and
  refuses a clamped value, so do we;
- ``cpu.cfs_period_us`` / ``cpu.cfs_quota_us``: bandwidth, quota -1 is unlimited. A
  smaller period can be refused (EINVAL) while the old quota/new period ratio exceeds
  the parent's; then the quota is written first and the period again after (runc);
- ``cpu.cfs_burst_us``, ``cpu.idle``;
- ``cpu.rt_period_us`` / ``cpu.rt_runtime_us``: must be set before a SCHED_RR/FIFO task
  joins, which holds since the runtime applies limits before adding the process.
- ``cpu.stat``: ``nr_periods``, ``nr_throttled``, ``throttled_time`` (ns).

OCI: config-linux.md "CPU" (shares, quota, burst, period, realtimeRuntime,
realtimePeriod, idle).
"""

from __future__ import annotations

import errno

from berth.errdefs import InvalidArgument

from .._files import read_flat, read_uint, write, write_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._files import Resources

_F = "linux.resources.cpu"
_NO_RT = "the kernel has no real-time group scheduling (CONFIG_RT_GROUP_SCHED)"


def apply(resources: Resources, path: str) -> None:
    cpu = resources.get("cpu")
    if not cpu:
        return
    shares = cpu.get("shares")
    if shares:
        write(path, "cpu.shares", str(shares), f"{_F}.shares")
        got = read_uint(path, "cpu.shares")
        if got != shares:
            bound = "maximum" if shares > got else "minimum"
            raise InvalidArgument(
                f"{_F}.shares: {shares} is out of range: the {bound} allowed cpu shares is {got}"
            )
    period = cpu.get("period") or 0
    quota = cpu.get("quota") or 0
    retry_period = False
    if period:
        err = write_error(path, "cpu.cfs_period_us", str(period), f"{_F}.period")
        if err is not None:
            if getattr(err, "errno", 0) != errno.EINVAL or not quota:
                raise err
            retry_period = True
    if quota:
        write(path, "cpu.cfs_quota_us", str(quota), f"{_F}.quota")
        if retry_period:
            write(path, "cpu.cfs_period_us", str(period), f"{_F}.period")
    if cpu.get("burst") is not None:
        write(
            path,
            "cpu.cfs_burst_us",
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
    if cpu.get("realtimePeriod"):
        write(
            path,
            "cpu.rt_period_us",
            str(cpu["realtimePeriod"]),
            f"{_F}.realtimePeriod",
            missing=_NO_RT,
        )
    if cpu.get("realtimeRuntime"):
        write(
            path,
            "cpu.rt_runtime_us",
            str(cpu["realtimeRuntime"]),
            f"{_F}.realtimeRuntime",
            missing=_NO_RT,
        )


def stats(path: str) -> dict[str, int]:
    """The ``throttling`` part of the cpu stats."""
    st = read_flat(path, "cpu.stat")
    return {
        "periods": st.get("nr_periods", 0),
        "throttledPeriods": st.get("nr_throttled", 0),
        "throttledTime": st.get("throttled_time", 0),
    }
