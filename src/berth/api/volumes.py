"""Volume routes (Engine API 1.41): list, create, inspect, remove, prune.

Wire shape of a volume, keys in dockerd's order: ``CreatedAt``, ``Driver``, ``Labels``,
``Mountpoint``, ``Name``, ``Options``, ``Scope``. ``Labels`` and ``Options`` are always
objects (``{}`` when empty), as the API's schema declares them (required, not nullable);
dockerd itself echoes ``null`` for a map a client left out. ``GET /volumes`` answers
``{"Volumes": […], "Warnings": null}``; a prune that removed nothing has
``"VolumesDeleted": null``.

``POST /volumes/prune`` removes unused anonymous volumes, and every unused volume with
the ``all=true`` filter: Docker ≥ 23's rule, which berth applies at every API version
(moby adds ``all=true`` for clients older than 1.42; berth does not, so that a 1.41
client never loses named volumes by surprise).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from berth.api.body import field_str, field_str_map
from berth.api.request import Request
from berth.api.response import Reply, empty, json_response
from berth.api.router import Router
from berth.errdefs import InvalidArgument
from berth.volumes import Volume

__all__ = ["VolumesBackend", "register", "volume_wire"]


class VolumesBackend(Protocol):
    async def create(
        self,
        name: str = "",
        driver: str = "local",
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> Volume: ...

    async def get(self, name: str) -> Volume: ...

    async def list(
        self, filters: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[builtins.list[Volume], builtins.list[str]]: ...

    async def remove(self, name: str, force: bool = False) -> None: ...

    async def prune(
        self, filters: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[builtins.list[str], int]: ...


def volume_wire(v: Volume) -> dict[str, Any]:
    return {
        "CreatedAt": v.created_at,
        "Driver": v.driver,
        "Labels": dict(v.labels),
        "Mountpoint": v.mountpoint,
        "Name": v.name,
        "Options": dict(v.options),
        "Scope": v.scope,
    }


def register(router: Router, backend: VolumesBackend) -> None:
    async def list_volumes(req: Request) -> Reply:
        volumes, warnings = await backend.list(req.filters())
        return json_response(
            {"Volumes": [volume_wire(v) for v in volumes], "Warnings": list(warnings) or None}
        )

    async def create(req: Request) -> Reply:
        doc = await req.json()
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            raise InvalidArgument("invalid volume create request: expected a JSON object")
        v = await backend.create(
            field_str(doc, "Name"), field_str(doc, "Driver") or "local",
            field_str_map(doc, "Labels"), field_str_map(doc, "DriverOpts"),
        )  # fmt: skip
        return json_response(volume_wire(v), 201)

    async def inspect(req: Request) -> Reply:
        return json_response(volume_wire(await backend.get(req.params["name"])))

    async def remove(req: Request) -> Reply:
        await backend.remove(req.params["name"], req.q_bool("force"))
        return empty(204)

    async def prune(req: Request) -> Reply:
        names, reclaimed = await backend.prune(req.filters())
        return json_response({"VolumesDeleted": list(names) or None, "SpaceReclaimed": reclaimed})

    router.add("GET", "/volumes", list_volumes)
    router.add("POST", "/volumes/create", create)
    router.add("POST", "/volumes/prune", prune)
    router.add("GET", "/volumes/{name}", inspect)
    router.add("DELETE", "/volumes/{name}", remove)
