"""``GET /system/df`` (trace ``system_df.txt``; README §2): ``LayersSize``, ``Images``
with ``Size``/``SharedSize``/``Containers``, and ``Containers``, ``Volumes``,
``BuildCache`` (the builder's cache records, one per cached step), ``BuilderSize``."""

from __future__ import annotations

from typing import Any, Protocol

from berth.api.container_wire import summary_wire as summary_wire_c
from berth.api.containers import status_text
from berth.api.images import summary_wire
from berth.api.request import Request
from berth.api.response import Reply, json_response
from berth.api.router import Router
from berth.api.volumes import volume_wire
from berth.engine.df import SystemDiskUsage

__all__ = ["DiskUsageBackend", "df_wire", "register"]


class DiskUsageBackend(Protocol):
    async def disk_usage(self) -> SystemDiskUsage: ...


def df_wire(sdu: SystemDiskUsage) -> dict[str, Any]:
    du = sdu.images
    images = []
    for u in du.images:
        w = summary_wire(u.summary)
        w["Containers"] = u.containers
        w["SharedSize"] = u.shared_size
        images.append(w)
    return {
        "LayersSize": du.layers_size,
        "Images": images,
        "Containers": [summary_wire_c(c, status_text(c), rw, root) for c, rw, root in sdu.containers],
        "Volumes": [
            {**volume_wire(v), "UsageData": {"Size": size, "RefCount": refs}} for v, size, refs in sdu.volumes
        ],
        "BuildCache": [
            {
                "ID": b.id, "Parent": "", "Type": "regular", "Description": b.description, "InUse": b.in_use,
                "Shared": b.shared, "Size": b.size, "CreatedAt": b.created, "LastUsedAt": b.last_used,
                "UsageCount": 1,
            }
            for b in sdu.build_cache
        ],
        "BuilderSize": sum(b.size for b in sdu.build_cache),
    }


def register(router: Router, backend: DiskUsageBackend) -> None:
    async def df(req: Request) -> Reply:
        return json_response(df_wire(await backend.disk_usage()))

    router.add("GET", "/system/df", df)
