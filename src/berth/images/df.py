"""``docker system df`` for images: the disk the layers take (each committed snapshot's
own directory, measured: its allocated blocks, hard links once) and, per image, its size,
the part of it shared with other images, and how many containers use it (dockerd's
``daemon/disk_usage.go``: a layer is shared when more than one image's chain has it)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from berth.errdefs import BerthError
from berth.images._types import ImageSummary
from berth.oci.digest import Digest
from berth.snapshots import Kind

if TYPE_CHECKING:
    from berth.images.service import ImageService

__all__ = ["DiskUsage", "ImageUsage", "disk_usage"]


@dataclass(frozen=True)
class ImageUsage:
    summary: ImageSummary
    shared_size: int
    containers: int


@dataclass(frozen=True)
class DiskUsage:
    layers_size: int
    images: list[ImageUsage]


def disk_usage(svc: ImageService) -> DiskUsage:
    layers_size = 0
    for info in list(svc.sn.walk()):
        if info.kind != Kind.COMMITTED:
            continue
        with contextlib.suppress(BerthError, OSError):
            layers_size += svc.sn.usage(info.name).size
    groups = svc._groups()
    refs: dict[Digest, int] = {}
    chains_of: dict[Digest, list[Digest]] = {}
    for g in groups:
        chains = list(g.loaded.image.chain_ids())
        chains_of[g.loaded.id] = chains
        for c in set(chains):
            refs[c] = refs.get(c, 0) + 1
    images = []
    for g in groups:
        if g.cache_only:
            continue  # an intermediate build image: counted as build cache, not an image
        shared = sum(svc._chain_size(c) for c in chains_of[g.loaded.id] if refs.get(c, 0) > 1)
        images.append(ImageUsage(svc._summary(g), shared, len(svc._users(g.loaded.id))))
    images.sort(key=lambda u: (-u.summary.created, u.summary.id))
    return DiskUsage(layers_size, images)
