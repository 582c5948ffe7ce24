"""v1 ``hugetlb`` controller (Documentation/admin-guide/cgroup-v1/hugetlb.rst).

Per huge page size (named as in ``2MB``, ``1GB``): ``hugetlb.<size>.limit_in_bytes``,
and, since Linux 5.7, the reservation limit ``hugetlb.<size>.rsvd.limit_in_bytes`` which
runc sets to the same value when it exists. Stats: ``usage_in_bytes``,
``max_usage_in_bytes``, ``failcnt``.

OCI: config-linux.md "Huge page limits".
"""

from __future__ import annotations

import os

from .._files import exists, read_uint, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._files import Resources

_F = "linux.resources.hugepageLimits"


def apply(resources: Resources, path: str) -> None:
    for i, entry in enumerate(resources.get("hugepageLimits") or []):
        size, limit = entry["pageSize"], str(entry["limit"])
        write(
            path,
            f"hugetlb.{size}.limit_in_bytes",
            limit,
            f"{_F}[{i}]",
            missing=f"the kernel has no {size} huge pages",
        )
        if exists(path, f"hugetlb.{size}.rsvd.limit_in_bytes"):
            write(path, f"hugetlb.{size}.rsvd.limit_in_bytes", limit, f"{_F}[{i}]")


def page_sizes(path: str) -> list[str]:
    """The page sizes the group has files for."""
    try:
        names = os.listdir(path)
    except OSError:
        return []
    return sorted(
        n[len("hugetlb.") : -len(".limit_in_bytes")]
        for n in names
        if n.startswith("hugetlb.") and n.endswith(".limit_in_bytes") and ".rsvd." not in n
    )


def stats(path: str) -> dict[str, dict[str, int]]:
    return {
        size: {
            "usage": read_uint(path, f"hugetlb.{size}.usage_in_bytes", 0),
            "max": read_uint(path, f"hugetlb.{size}.max_usage_in_bytes", 0),
            "failcnt": read_uint(path, f"hugetlb.{size}.failcnt", 0),
        }
        for size in page_sizes(path)
    }
