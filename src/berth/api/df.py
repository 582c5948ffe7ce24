"""``GET /system/df`` (trace ``system_df.txt``; README §2): ``LayersSize``, ``Images``
with ``Size``/``SharedSize``/``Containers``, and ``Containers``, ``Volumes``,
``BuildCache`` (empty lists until berth has them), ``BuilderSize``."""

from __future__ import annotations

from typing import Any, Protocol

from berth.api.images import summary_wire
from berth.api.request import Request
from berth.api.response import Reply, json_response
from berth.api.router import Router
from berth.images.df import DiskUsage

__all__ = ["DiskUsageBackend", "df_wire", "register"]


class DiskUsageBackend(Protocol):
    async def disk_usage(self) -> DiskUsage: ...


def df_wire(du: DiskUsage) -> dict[str, Any]:
    images = []
    for u in du.images:
        w = summary_wire(u.summary)
        w["Containers"] = u.containers
        w["SharedSize"] = u.shared_size
        images.append(w)
    return {
        "LayersSize": du.layers_size,
        "Images": images,
        "Containers": [],
        "Volumes": [],
        "BuildCache": [],
        "BuilderSize": 0,
    }


def register(router: Router, backend: DiskUsageBackend) -> None:
    async def df(req: Request) -> Reply:
        return json_response(df_wire(await backend.disk_usage()))

    router.add("GET", "/system/df", df)
