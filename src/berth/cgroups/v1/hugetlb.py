"""v1 ``hugetlb`` controller (Documentation/admin-guide/cgroup-v1/hugetlb.rst).

Per huge page size (named as in ``2MB``, ``1GB``): ``hugetlb.<size>.limit_in_bytes``,
and, since Linux 5.7, the reservation limit ``hugetlb.<size>.rsvd.limit_in_bytes`` which
runc sets to the same value when it exists. Stats: ``usage_in_bytes``,
``max_usage_in_bytes``, ``failcnt``.

OCI: config-linux.md "Huge page limits".
"""

from __future__ import annotations

from .. import _hugetlb
from .._files import read_uint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._files import Resources


def apply(resources: Resources, path: str) -> None:
    _hugetlb.apply_limits(resources, path, "limit_in_bytes", "the kernel has no {size} huge pages")


def page_sizes(path: str) -> list[str]:
    """The page sizes the group has files for."""
    return _hugetlb.page_sizes(path, "limit_in_bytes")


def stats(path: str) -> dict[str, dict[str, int]]:
    return {
        size: {
            "usage": read_uint(path, f"hugetlb.{size}.usage_in_bytes", 0),
            "max": read_uint(path, f"hugetlb.{size}.max_usage_in_bytes", 0),
            "failcnt": read_uint(path, f"hugetlb.{size}.failcnt", 0),
        }
        for size in page_sizes(path)
    }
