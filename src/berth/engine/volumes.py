"""The volume service as the API calls it: :class:`berth.volumes.VolumeService`
(synchronous, thread-safe) run off the event loop; ``create`` and ``destroy`` events (actor:
the volume's name; attribute ``driver``) go to the daemon's event bus when one is set."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Mapping, Sequence

from berth.engine.events import EventBus
from berth.volumes import Volume, VolumeService

__all__ = ["VolumeEngine"]


class VolumeEngine:
    def __init__(self, service: VolumeService, events: EventBus | None = None) -> None:
        self.service = service
        self.events = events

    def _publish(self, action: str, name: str, driver: str) -> None:
        if self.events is not None:
            self.events.publish("volume", action, name, {"driver": driver or "local"})

    async def create(
        self,
        name: str = "",
        driver: str = "local",
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> Volume:
        vol = await asyncio.to_thread(self.service.create, name, driver, labels, options)
        self._publish("create", vol.name, vol.driver)
        return vol

    async def get(self, name: str) -> Volume:
        return await asyncio.to_thread(self.service.get, name)

    async def list(
        self, filters: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[builtins.list[Volume], builtins.list[str]]:
        return await asyncio.to_thread(self.service.list, filters)

    async def remove(self, name: str, force: bool = False) -> None:
        await asyncio.to_thread(self.service.remove, name, force)
        self._publish("destroy", name, "local")

    async def prune(
        self, filters: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[builtins.list[str], int]:
        deleted, reclaimed = await asyncio.to_thread(self.service.prune, filters)
        for name in deleted:
            self._publish("destroy", name, "local")
        return deleted, reclaimed

    async def usage(self, name: str) -> int:
        return await asyncio.to_thread(self.service.usage, name)
