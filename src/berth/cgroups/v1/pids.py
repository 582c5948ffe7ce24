"""v1 ``pids`` controller (Documentation/admin-guide/cgroup-v1/pids.rst).

``pids.max`` takes a number or ``max``; OCI ``limit`` 0 or less means no limit (runc
converts it to ``max``). ``pids.current`` is the count now.

OCI: config-linux.md "PIDs".
"""

from __future__ import annotations

from .._files import MAX_U64, read_uint, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._files import Resources


def apply(resources: Resources, path: str) -> None:
    pids = resources.get("pids")
    if pids is None:
        return
    limit = pids.get("limit") or 0
    write(path, "pids.max", str(limit) if limit > 0 else "max", "linux.resources.pids.limit")


def stats(path: str) -> dict[str, int]:
    """``current`` and ``limit`` (0 when unlimited, as runc reports ``max``)."""
    limit = read_uint(path, "pids.max", 0)
    return {
        "current": read_uint(path, "pids.current", 0),
        "limit": 0 if limit == MAX_U64 else limit,
    }
