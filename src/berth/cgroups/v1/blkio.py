"""v1 ``blkio`` controller (Documentation/admin-guide/cgroup-v1/blkio-controller.rst).

Weights (10..1000) need a proportional io scheduler: CFQ's ``blkio.weight``,
``blkio.leaf_weight``, ``blkio.weight_device`` and ``blkio.leaf_weight_device``
(removed with CFQ in Linux 5.0), or BFQ's ``blkio.bfq.weight`` and
``blkio.bfq.weight_device``; berth uses whichever exists, CFQ first, as runc does.
Per-device values are written one ``major:minor value`` at a time.

Throttling works with any scheduler: ``blkio.throttle.{read,write}_{bps,iops}_device``
take ``major:minor rate``, rate 0 removing the limit.

Stats: the ``*_recursive`` files of CFQ, else BFQ, else the throttle layer (the first
whose files hold entries, as runc), each line ``major:minor Op value`` (or
``major:minor value``; the ``Total`` line is skipped).

OCI: config-linux.md "Block IO".
"""

from __future__ import annotations

from berth.errdefs import FailedPrecondition

from .._files import exists, read_optional, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._files import Resources

_F = "linux.resources.blockIO"
_THROTTLE = (
    ("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
    ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
    ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
    ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"),
)


def _weight_files(path: str, field: str) -> tuple[str, str]:
    if exists(path, "blkio.weight"):
        return "blkio.weight", "blkio.weight_device"
    if exists(path, "blkio.bfq.weight"):
        return "blkio.bfq.weight", "blkio.bfq.weight_device"
    raise FailedPrecondition(
        f"{field}: no proportional io scheduler on this host "
        f"(neither {path + '/blkio.weight'!r} nor blkio.bfq.weight exists)"
    )


def apply(resources: Resources, path: str) -> None:
    bio = resources.get("blockIO")
    if not bio:
        return
    if bio.get("weight"):
        weight, _ = _weight_files(path, f"{_F}.weight")
        write(path, weight, str(bio["weight"]), f"{_F}.weight")
    if bio.get("leafWeight"):
        write(
            path,
            "blkio.leaf_weight",
            str(bio["leafWeight"]),
            f"{_F}.leafWeight",
            missing="only the CFQ scheduler (before Linux 5.0) has leaf weights",
        )
    for i, dev in enumerate(bio.get("weightDevice") or []):
        where = f"{_F}.weightDevice[{i}]"
        number = f"{dev['major']}:{dev['minor']}"
        if dev.get("weight"):
            _, weight_device = _weight_files(path, where)
            write(path, weight_device, f"{number} {dev['weight']}", where)
        if dev.get("leafWeight"):
            write(
                path,
                "blkio.leaf_weight_device",
                f"{number} {dev['leafWeight']}",
                where,
                missing="only the CFQ scheduler (before Linux 5.0) has leaf weights",
            )
    for key, name in _THROTTLE:
        for i, dev in enumerate(bio.get(key) or []):
            write(
                path,
                name,
                f"{dev['major']}:{dev['minor']} {dev.get('rate') or 0}",
                f"{_F}.{key}[{i}]",
            )


def parse_entries(text: str) -> list[dict[str, Any]]:
    """Lines of a blkio stats file as runc's BlkioEntry objects."""
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) not in (2, 3) or ":" not in parts[0]:
            continue
        major, _, minor = parts[0].partition(":")
        try:
            entry = {
                "major": int(major),
                "minor": int(minor),
                "op": parts[1] if len(parts) == 3 else "",
                "value": int(parts[-1]),
            }
        except ValueError:
            continue
        out.append(entry)
    return out


_CFQ = (
    ("ioServiceBytesRecursive", "blkio.io_service_bytes_recursive"),
    ("ioServicedRecursive", "blkio.io_serviced_recursive"),
    ("ioQueueRecursive", "blkio.io_queued_recursive"),
    ("ioServiceTimeRecursive", "blkio.io_service_time_recursive"),
    ("ioWaitTimeRecursive", "blkio.io_wait_time_recursive"),
    ("ioMergedRecursive", "blkio.io_merged_recursive"),
    ("ioTimeRecursive", "blkio.time_recursive"),
    ("sectorsRecursive", "blkio.sectors_recursive"),
)
_BFQ = (
    ("ioServiceBytesRecursive", "blkio.bfq.io_service_bytes_recursive"),
    ("ioServicedRecursive", "blkio.bfq.io_serviced_recursive"),
)
_THROTTLE_STATS = (
    ("ioServiceBytesRecursive", "blkio.throttle.io_service_bytes_recursive"),
    ("ioServicedRecursive", "blkio.throttle.io_serviced_recursive"),
)


def _has_entries(path: str, name: str) -> bool:
    return bool(parse_entries(read_optional(path, name) or ""))


def stats(path: str) -> dict[str, list[dict[str, Any]]]:
    # As runc: a scheduler's files are used when they hold entries. A kernel with BFQ
    # built in has the bfq files in every group, empty while the disk uses another
    # scheduler; the throttle layer then counts the I/O.
    table: tuple[tuple[str, str], ...]
    if _has_entries(path, "blkio.io_serviced_recursive"):
        table = _CFQ
    elif _has_entries(path, "blkio.bfq.io_serviced_recursive"):
        table = _BFQ
    else:
        table = _THROTTLE_STATS
    out: dict[str, list[dict[str, Any]]] = {}
    for key, name in table:
        text = read_optional(path, name)
        if text is None and name.endswith("_recursive") and table is _THROTTLE_STATS:
            text = read_optional(path, name[: -len("_recursive")])
        out[key] = parse_entries(text or "")
    return out
