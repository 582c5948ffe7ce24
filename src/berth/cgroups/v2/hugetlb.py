"""v2 ``hugetlb`` controller (cgroup-v2.rst "HugeTLB", Linux 5.6+).

Per page size: ``hugetlb.<size>.max`` (bytes or ``max``), the reservation limit
``hugetlb.<size>.rsvd.max`` (5.7+, set to the same value when present, as runc does),
``hugetlb.<size>.current`` and ``hugetlb.<size>.events`` whose ``max`` counts
allocations refused by the limit (reported as ``failcnt``).

OCI: config-linux.md "Huge page limits".
"""

from __future__ import annotations

import os

from .._files import exists, read_flat, read_uint, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._files import Resources

_F = "linux.resources.hugepageLimits"


def apply(resources: Resources, path: str) -> None:
    for i, entry in enumerate(resources.get("hugepageLimits") or []):
        size, limit = entry["pageSize"], str(entry["limit"])
        write(
            path,
            f"hugetlb.{size}.max",
            limit,
            f"{_F}[{i}]",
            missing=f"no {size} huge pages or the hugetlb controller is not enabled",
        )
        if exists(path, f"hugetlb.{size}.rsvd.max"):
            write(path, f"hugetlb.{size}.rsvd.max", limit, f"{_F}[{i}]")


def page_sizes(path: str) -> list[str]:
    try:
        names = os.listdir(path)
    except OSError:
        return []
    return sorted(
        n[len("hugetlb.") : -len(".max")]
        for n in names
        if n.startswith("hugetlb.") and n.endswith(".max") and ".rsvd." not in n
    )


def stats(path: str) -> dict[str, dict[str, int]]:
    return {
        size: {
            "usage": read_uint(path, f"hugetlb.{size}.current", 0),
            "max": 0,
            "failcnt": read_flat(path, f"hugetlb.{size}.events").get("max", 0),
        }
        for size in page_sizes(path)
    }
