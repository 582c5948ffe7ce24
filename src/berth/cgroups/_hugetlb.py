"""What the v1 and v2 ``hugetlb`` controllers share: one limit file per page size (and its
reservation twin where the kernel has it), named ``hugetlb.<size>.<suffix>``."""

from __future__ import annotations

import os

from ._files import exists, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._files import Resources

FIELD = "linux.resources.hugepageLimits"


def apply_limits(resources: Resources, path: str, suffix: str, missing: str) -> None:
    """Write each ``hugepageLimits`` entry to ``hugetlb.<size>.<suffix>`` and, when the
    kernel has reservation limits (5.7+), to ``hugetlb.<size>.rsvd.<suffix>`` too, as runc
    does. ``missing`` says why the file may be absent (``{size}`` is filled in)."""
    for i, entry in enumerate(resources.get("hugepageLimits") or []):
        size, limit = entry["pageSize"], str(entry["limit"])
        field = f"{FIELD}[{i}]"
        write(path, f"hugetlb.{size}.{suffix}", limit, field, missing=missing.format(size=size))
        if exists(path, f"hugetlb.{size}.rsvd.{suffix}"):
            write(path, f"hugetlb.{size}.rsvd.{suffix}", limit, field)


def page_sizes(path: str, suffix: str) -> list[str]:
    """The page sizes the group has ``hugetlb.<size>.<suffix>`` files for."""
    try:
        names = os.listdir(path)
    except OSError:
        return []
    tail = "." + suffix
    return sorted(
        n[len("hugetlb.") : -len(tail)]
        for n in names
        if n.startswith("hugetlb.") and n.endswith(tail) and ".rsvd." not in n
    )
