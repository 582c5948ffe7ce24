"""A container's usage, gathered from each controller, in the shape of the ``data``
object of runc's ``events --stats`` (runc types/events.go ``Stats``)::

    {"cpu": {"usage": {"total", "percpu", "percpu_kernel", "percpu_user", "kernel",
                       "user"},                                   # ns
             "throttling": {"periods", "throttledPeriods", "throttledTime"}},
     "cpuset": {"cpus": [0, 1], "mems": [0], "cpu_exclusive", …},  # v2: effective lists
     "memory": {"cache", "usage": {"limit", "usage", "max", "failcnt"}, "swap": {…},
                "kernel": {…}, "kernelTCP": {…}, "raw": {memory.stat}},
     "pids": {"current", "limit"},                                # limit 0: none
     "blkio": {"ioServiceBytesRecursive": [{"major", "minor", "op", "value"}], …},
     "hugetlb": {"2MB": {"usage", "max", "failcnt"}}}

Every key is present (zeros when a controller is missing); a caller that wants Go's
``omitempty`` output drops the zero values itself.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .manager import Manager


def _empty() -> dict[str, Any]:
    from .v1.cpuset import FLAGS as CPUSET_FLAGS

    zero = {"limit": 0, "usage": 0, "max": 0, "failcnt": 0}
    return {
        "cpu": {
            "usage": {
                "total": 0,
                "percpu": [],
                "percpu_kernel": [],
                "percpu_user": [],
                "kernel": 0,
                "user": 0,
            },
            "throttling": {"periods": 0, "throttledPeriods": 0, "throttledTime": 0},
        },
        "memory": {
            "cache": 0,
            "usage": dict(zero),
            "swap": dict(zero),
            "kernel": dict(zero),
            "kernelTCP": dict(zero),
            "raw": {},
        },
        "cpuset": {"cpus": [], "mems": [], **dict.fromkeys(CPUSET_FLAGS, 0)},
        "pids": {"current": 0, "limit": 0},
        "blkio": {},
        "hugetlb": {},
    }


def collect(m: Manager) -> dict[str, Any]:
    from .v1 import blkio, cpu, cpuacct, cpuset, hugetlb, memory, pids
    from .v2 import cpu as cpu2
    from .v2 import cpuset as cpuset2
    from .v2 import hugetlb as hugetlb2
    from .v2 import io as io2
    from .v2 import memory as memory2

    out = _empty()
    paths, v2 = m.paths, m.v2_controllers
    unified = paths.get("unified")
    if m.setup.mode != "v2":
        if "cpuacct" in paths:
            out["cpu"]["usage"] = cpuacct.stats(paths["cpuacct"])
        if "cpu" in paths:
            out["cpu"]["throttling"] = cpu.stats(paths["cpu"])
        if "cpuset" in paths:
            out["cpuset"] = cpuset.stats(paths["cpuset"])
        if "memory" in paths:
            out["memory"] = memory.stats(paths["memory"])
        if "pids" in paths:
            out["pids"] = pids.stats(paths["pids"])
        if "blkio" in paths:
            out["blkio"] = blkio.stats(paths["blkio"])
        if "hugetlb" in paths:
            out["hugetlb"] = hugetlb.stats(paths["hugetlb"])
    if unified is None:
        return out
    if m.setup.mode == "v2":
        out["cpu"] = cpu2.stats(unified)
    if "cpuset" in v2:
        out["cpuset"].update(cpuset2.stats(unified))
    if "memory" in v2:
        out["memory"] = memory2.stats(unified)
    if "pids" in v2:
        out["pids"] = pids.stats(unified)
    if "io" in v2:
        out["blkio"] = io2.stats(unified)
    if "hugetlb" in v2:
        out["hugetlb"] = hugetlb2.stats(unified)
    return out
