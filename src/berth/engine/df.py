"""``GET /system/df`` as the API calls it: the image part from :mod:`berth.images.df`
off the event loop (containers, volumes and the build cache join it as they arrive)."""

from __future__ import annotations

import asyncio

from berth.images import ImageService
from berth.images.df import DiskUsage, disk_usage

__all__ = ["DiskUsageService"]


class DiskUsageService:
    def __init__(self, images: ImageService) -> None:
        self.images = images

    async def disk_usage(self) -> DiskUsage:
        return await asyncio.to_thread(disk_usage, self.images)
