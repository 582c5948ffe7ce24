"""``GET /system/df`` as the API calls it: images (:mod:`berth.images.df`), containers
(their own layer and their root file system's size) and volumes (size and how many
containers use each), gathered off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from berth.engine.build_types import CacheUsage
from berth.engine.containers.model import Container
from berth.engine.containers.service import ContainerService
from berth.images import ImageService
from berth.images.df import DiskUsage, disk_usage
from berth.volumes import VolumeService

__all__ = ["DiskUsageService", "SystemDiskUsage"]


@dataclass
class SystemDiskUsage:
    images: DiskUsage
    containers: list[tuple[Container, int, int]] = field(default_factory=list)  # (c, rw, root)
    volumes: list[tuple[Any, int, int]] = field(default_factory=list)  # (volume, size, refs)
    build_cache: list[CacheUsage] = field(default_factory=list)


class DiskUsageService:
    def __init__(
        self,
        images: ImageService,
        containers: ContainerService | None = None,
        volumes: VolumeService | None = None,
        build_cache: Callable[[], list[CacheUsage]] | None = None,
    ) -> None:
        self.images = images
        self.containers = containers
        self.volumes = volumes
        self.build_cache = build_cache

    def _gather(self) -> SystemDiskUsage:
        du = SystemDiskUsage(disk_usage(self.images))
        if self.containers is not None:
            for c in self.containers.list():
                rw, root = self.containers.sizes(c)
                du.containers.append((c, rw, root))
        if self.volumes is not None:
            vols, _ = self.volumes.list({})
            for v in vols:
                refs = len(self.containers.volume_users(v.name)) if self.containers is not None else 0
                du.volumes.append((v, self.volumes.usage(v.name), refs))
        if self.build_cache is not None:
            du.build_cache = self.build_cache()
        return du

    async def disk_usage(self) -> SystemDiskUsage:
        return await asyncio.to_thread(self._gather)
