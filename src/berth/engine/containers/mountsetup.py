"""From a container's planned mounts to what inspect shows and what the runtime mounts:
:class:`MountPoint` records (inspect's ``Mounts``), ``--volumes-from``, and the OCI mounts
of binds, volumes (mounted through the volume service, filled from the image on first
use as Docker does) and tmpfs."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

from berth import errdefs
from berth.engine.containers.model import Container, MountPoint
from berth.engine.containers.mounts import MountPlan

__all__ = ["VolumeMounter", "mount_point", "oci_mounts", "volumes_from"]


class VolumeMounter(Protocol):
    def mount(self, name: str, ref: str) -> str: ...

    def copy_up(self, name: str, src_dir: str) -> bool: ...


def mount_point(p: MountPlan, source: str) -> MountPoint:
    """The inspect record of a planned mount whose host side is ``source``."""
    return MountPoint(
        type=p.type,
        name=p.source if p.type == "volume" else "",
        source=source if p.type != "tmpfs" else "",
        destination=p.destination,
        driver=(p.volume_driver or "local") if p.type == "volume" else "",
        mode=p.mode,
        rw=not p.read_only,
        propagation=p.propagation if p.type == "bind" else "",
        options=list(p.options),
        no_copy=p.no_copy,
    )


def volumes_from(c: Container, get: Callable[[str], Container]) -> None:
    """``--volumes-from CONTAINER[:ro|rw]``: the other container's volumes and binds at
    the same places (ones this container mounts itself win); ``ro``/``rw`` override
    their mode, as in Docker."""
    taken = {m.destination for m in c.mounts}
    for spec in c.host_config.volumes_from:
        ref, _, mode = spec.partition(":")
        if mode not in ("", "ro", "rw"):
            raise errdefs.InvalidArgument(f"invalid mode for volumes-from: {mode}")
        try:
            other = get(ref)
        except errdefs.NotFound:
            raise errdefs.NotFound(f"No such container: {ref}") from None
        for m in other.mounts:
            if m.type not in ("volume", "bind") or m.destination in taken:
                continue
            copy = MountPoint(**{**m.__dict__, "options": list(m.options)})
            if mode:
                copy.rw = mode == "rw"
                copy.mode = mode
            c.mounts.append(copy)
            taken.add(m.destination)


def oci_mounts(
    c: Container, rootfs: str, volumes: VolumeMounter | None, mounted: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """OCI mounts for the container's binds, volumes and tmpfs; each volume mounted is
    recorded in ``mounted`` (name, ref) for the caller to release."""
    out: list[dict[str, Any]] = []
    for m in c.mounts:
        if m.type == "volume" and volumes is not None:
            src = volumes.mount(m.name, c.id)
            mounted.append((m.name, c.id))
            if not m.no_copy:
                inside = os.path.join(rootfs, m.destination.lstrip("/"))
                if os.path.isdir(inside) and not os.path.islink(inside):
                    volumes.copy_up(m.name, inside)
            opts = ["rbind", "rprivate", "ro" if not m.rw else "rw"]
            out.append({"destination": m.destination, "type": "bind", "source": src, "options": opts})
        elif m.type == "bind":
            opts = ["rbind", m.propagation or "rprivate", "ro" if not m.rw else "rw"]
            out.append({"destination": m.destination, "type": "bind", "source": m.source, "options": opts})
        elif m.type == "tmpfs":
            out.append({"destination": m.destination, "type": "tmpfs", "source": "tmpfs", "options": m.options})
    return out
