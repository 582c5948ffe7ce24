"""v1 ``net_cls`` controller (Documentation/admin-guide/cgroup-v1/net_cls.rst).

``net_cls.classid`` holds the tc class id (0xAAAABBBB: major AAAA, minor BBBB) that
packets of the group's sockets carry, written as a decimal number.

OCI: config-linux.md "Network" (classID).
"""

from __future__ import annotations

from .._files import write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._files import Resources


def apply(resources: Resources, path: str) -> None:
    net = resources.get("network") or {}
    if net.get("classID") is not None:
        write(path, "net_cls.classid", str(net["classID"]), "linux.resources.network.classID")
