"""v2 ``hugetlb`` controller (cgroup-v2.rst "HugeTLB", Linux 5.6+).

Per page size: ``hugetlb.<size>.max`` (bytes or ``max``), the reservation limit
``hugetlb.<size>.rsvd.max`` (5.7+, set to the same value when present, as runc does),
``hugetlb.<size>.current`` and ``hugetlb.<size>.events`` whose ``max`` counts
allocations refused by the limit (reported as ``failcnt``).

OCI: config-linux.md "Huge page limits".
"""

from __future__ import annotations

from .. import _hugetlb
from .._files import read_flat, read_uint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._files import Resources


def apply(resources: Resources, path: str) -> None:
    _hugetlb.apply_limits(resources, path, "max", "no {size} huge pages or the hugetlb controller is not enabled")


def page_sizes(path: str) -> list[str]:
    """The page sizes the group has files for."""
    return _hugetlb.page_sizes(path, "max")


def stats(path: str) -> dict[str, dict[str, int]]:
    return {
        size: {
            "usage": read_uint(path, f"hugetlb.{size}.current", 0),
            "max": 0,
            "failcnt": read_flat(path, f"hugetlb.{size}.events").get("max", 0),
        }
        for size in page_sizes(path)
    }
