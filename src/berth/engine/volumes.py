"""The volume service as the API calls it: :class:`berth.volumes.VolumeService`
(synchronous, thread-safe) run off the event loop."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Mapping, Sequence

from berth.volumes import Volume, VolumeService

__all__ = ["VolumeEngine"]


class VolumeEngine:
    def __init__(self, service: VolumeService) -> None:
        self.service = service

    async def create(
        self,
        name: str = "",
        driver: str = "local",
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> Volume:
        return await asyncio.to_thread(self.service.create, name, driver, labels, options)

    async def get(self, name: str) -> Volume:
        return await asyncio.to_thread(self.service.get, name)

    async def list(
        self, filters: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[builtins.list[Volume], builtins.list[str]]:
        return await asyncio.to_thread(self.service.list, filters)

    async def remove(self, name: str, force: bool = False) -> None:
        await asyncio.to_thread(self.service.remove, name, force)

    async def prune(
        self, filters: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[builtins.list[str], int]:
        return await asyncio.to_thread(self.service.prune, filters)

    async def usage(self, name: str) -> int:
        return await asyncio.to_thread(self.service.usage, name)
