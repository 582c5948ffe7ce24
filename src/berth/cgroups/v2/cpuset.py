"""v2 ``cpuset`` controller (cgroup-v2.rst "Cpuset", Linux 5.0+).

``cpuset.cpus`` and ``cpuset.mems`` restrict the group; empty means "the parent's"
(the effective sets live in ``cpuset.{cpus,mems}.effective``), so unlike v1 nothing has
to be copied down.

OCI: config-linux.md "CPU" (cpus, mems).
"""

from __future__ import annotations

from .._files import parse_list, read_optional, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._files import Resources

_F = "linux.resources.cpu"


def apply(resources: Resources, path: str) -> None:
    cpu = resources.get("cpu") or {}
    if cpu.get("cpus"):
        write(path, "cpuset.cpus", cpu["cpus"], f"{_F}.cpus")
    if cpu.get("mems"):
        write(path, "cpuset.mems", cpu["mems"], f"{_F}.mems")


def stats(path: str) -> dict[str, Any]:
    """The effective lists (runc's ``CPUSet`` stats on v2; v2 has no flag files)."""
    return {
        "cpus": parse_list(read_optional(path, "cpuset.cpus.effective") or ""),
        "mems": parse_list(read_optional(path, "cpuset.mems.effective") or ""),
    }
