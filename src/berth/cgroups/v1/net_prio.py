"""v1 ``net_prio`` controller (Documentation/admin-guide/cgroup-v1/net_prio.rst).

``net_prio.ifpriomap`` takes one ``<interface> <priority>`` per write and sets the
priority of the group's traffic on that interface.

OCI: config-linux.md "Network" (priorities).
"""

from __future__ import annotations

from .._files import write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._files import Resources


def apply(resources: Resources, path: str) -> None:
    net = resources.get("network") or {}
    for i, entry in enumerate(net.get("priorities") or []):
        write(
            path,
            "net_prio.ifpriomap",
            f"{entry['name']} {entry.get('priority') or 0}",
            f"linux.resources.network.priorities[{i}]",
        )
