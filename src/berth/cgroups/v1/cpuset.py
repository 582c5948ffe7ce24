"""v1 ``cpuset`` controller: which CPUs and memory nodes a group may use
(cgroup-v1/cpusets.rst).

``cpuset.cpus`` and ``cpuset.mems`` of a new v1 cpuset group start *empty*, and a task
cannot join a group with an empty cpuset (ENOSPC). So every group on the way down from
the hierarchy root gets its parent's values when its own are empty (runc's
``cpusetEnsureParent``/``cpusetCopyIfNeeded``), after writing the values the container
asked for. The walk up stops at the first directory whose parent has no
``cpuset.cpus``: the mount point.

Stats (runc's ``CPUSet`` of ``events --stats``): the lists as numbers and the flag
files (``cpu_exclusive``, ``mem_hardwall`` … ``sched_relax_domain_level``).

OCI: config-linux.md "CPU" (cpus, mems).
"""

from __future__ import annotations

import os

from .._files import parse_list, read, read_optional, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._files import Resources

_F = "linux.resources.cpu"


def _copy_if_empty(path: str, parent: str) -> None:
    for name in ("cpuset.cpus", "cpuset.mems"):
        if not read(path, name).strip():
            inherited = read(parent, name).strip()
            if inherited:
                write(path, name, inherited)


def apply(resources: Resources, path: str) -> None:
    path = path.rstrip("/") or "/"
    chain = []
    parent = os.path.dirname(path)
    while parent != "/" and os.path.exists(f"{os.path.dirname(parent)}/cpuset.cpus"):
        chain.append(parent)
        parent = os.path.dirname(parent)
    for directory in reversed(chain):
        _copy_if_empty(directory, os.path.dirname(directory))
    cpu = resources.get("cpu") or {}
    if cpu.get("cpus"):
        write(path, "cpuset.cpus", cpu["cpus"], f"{_F}.cpus")
    if cpu.get("mems"):
        write(path, "cpuset.mems", cpu["mems"], f"{_F}.mems")
    if os.path.exists(f"{os.path.dirname(path)}/cpuset.cpus"):
        _copy_if_empty(path, os.path.dirname(path))


FLAGS = (
    "cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
    "memory_spread_slab", "memory_pressure", "sched_load_balance", "sched_relax_domain_level",
)  # fmt: skip


def stats(path: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cpus": parse_list(read_optional(path, "cpuset.cpus") or ""),
        "mems": parse_list(read_optional(path, "cpuset.mems") or ""),
    }
    for name in FLAGS:
        text = (read_optional(path, f"cpuset.{name}") or "").strip()
        out[name] = int(text) if text.lstrip("-").isdigit() else 0
    return out
