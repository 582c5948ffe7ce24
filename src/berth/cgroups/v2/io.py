"""v2 ``io`` controller (cgroup-v2.rst "IO", "IO Interface Files").

- weights: with BFQ, ``io.bfq.weight`` takes the OCI (v1) weight 10..1000 as it is,
  and ``major:minor weight`` lines for ``weightDevice``; otherwise ``io.weight``
  (1..10000) takes the weight converted as runc does, ``1 + (weight - 10) * 9999 / 990``
  (``major:minor weight`` lines likewise). Leaf weights do not exist in v2;
- ``io.max``: one ``major:minor rbps=N`` (``wbps``, ``riops``, ``wiops``) per write,
  ``max`` removing the limit (OCI rate 0).

Stats: ``io.stat`` lines ``major:minor rbytes=… wbytes=… rios=… wios=…`` mapped to
v1's ``ioServiceBytesRecursive`` and ``ioServicedRecursive`` with ops ``Read``/``Write``.

OCI: config-linux.md "Block IO".
"""

from __future__ import annotations

from .._files import exists, read_optional, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._files import Resources

_F = "linux.resources.blockIO"
_THROTTLE = (
    ("throttleReadBpsDevice", "rbps"),
    ("throttleWriteBpsDevice", "wbps"),
    ("throttleReadIOPSDevice", "riops"),
    ("throttleWriteIOPSDevice", "wiops"),
)


def blkio_to_io_weight(weight: int) -> int:
    """runc's ConvertBlkIOToIOWeightValue; 0 (unset) stays 0."""
    if weight == 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def apply(resources: Resources, path: str) -> None:
    bio = resources.get("blockIO")
    if not bio:
        return
    bfq = exists(path, "io.bfq.weight")
    name = "io.bfq.weight" if bfq else "io.weight"
    missing = "the io controller is not enabled for this group"

    def weight(value: int) -> str:
        return str(value if bfq else blkio_to_io_weight(value))

    if bio.get("weight"):
        write(path, name, weight(bio["weight"]), f"{_F}.weight", missing=missing)
    for i, dev in enumerate(bio.get("weightDevice") or []):
        if dev.get("weight"):
            write(
                path,
                name,
                f"{dev['major']}:{dev['minor']} {weight(dev['weight'])}",
                f"{_F}.weightDevice[{i}]",
                missing=missing,
            )
    for key, op in _THROTTLE:
        for i, dev in enumerate(bio.get(key) or []):
            rate = dev.get("rate") or 0
            write(
                path,
                "io.max",
                f"{dev['major']}:{dev['minor']} {op}={rate or 'max'}",
                f"{_F}.{key}[{i}]",
                missing=missing,
            )


_OPS = {
    "rbytes": ("ioServiceBytesRecursive", "Read"),
    "wbytes": ("ioServiceBytesRecursive", "Write"),
    "rios": ("ioServicedRecursive", "Read"),
    "wios": ("ioServicedRecursive", "Write"),
}


def stats(path: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {
        "ioServiceBytesRecursive": [],
        "ioServicedRecursive": [],
    }
    for line in (read_optional(path, "io.stat") or "").splitlines():
        parts = line.split()
        if not parts or ":" not in parts[0]:
            continue
        major, _, minor = parts[0].partition(":")
        if not (major.isdigit() and minor.isdigit()):
            continue
        for item in parts[1:]:
            key, _, value = item.partition("=")
            if key in _OPS and value.isdigit():
                table, op = _OPS[key]
                out[table].append(
                    {"major": int(major), "minor": int(minor), "op": op, "value": int(value)}
                )
    return out
