"""The image service as the API calls it: :class:`berth.images.ImageService` (synchronous,
thread-safe) run off the event loop, and a pull's progress turned into an async stream."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Mapping, Sequence

from berth.images import DeleteItem, ImageDetail, ImageService, ImageSummary, PullEvent
from berth.oci.digest import Digest
from berth.oci.reference import Reference
from berth.registry import Credentials, Resolved

__all__ = ["ImageEngine"]

_DONE = object()


class ImageEngine:
    def __init__(self, service: ImageService) -> None:
        self.service = service

    def count(self) -> int:
        return len(self.service.list())

    async def resolve(
        self, ref: str, credentials: Credentials | None = None
    ) -> tuple[Reference, Resolved]:
        return await asyncio.to_thread(self.service.resolve, ref, credentials)

    async def pull(
        self,
        ref: str,
        credentials: Credentials | None = None,
        resolved: tuple[Reference, Resolved] | None = None,
    ) -> AsyncIterator[PullEvent]:
        """The pull's progress events as they happen; the pull's error, if any, is raised
        after the events sent before it."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()

        def emit(ev: PullEvent) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, ev)

        def run() -> Digest:
            try:
                return self.service.pull(ref, emit, credentials, resolved)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        task = asyncio.ensure_future(asyncio.to_thread(run))
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                assert isinstance(item, PullEvent)
                yield item
            await task
        finally:
            if not task.done():
                # the client went away: the pull finishes in its thread, as dockerd's does
                task.add_done_callback(lambda t: t.exception())

    async def list(self, filters: Mapping[str, Sequence[str]] | None = None) -> builtins.list[ImageSummary]:
        return await asyncio.to_thread(self.service.list, filters)

    async def inspect(self, name: str) -> ImageDetail:
        return await asyncio.to_thread(self.service.inspect, name)

    async def tag(self, source: str, repo: str, tag: str) -> str:
        return await asyncio.to_thread(self.service.tag, source, repo, tag)

    async def remove(self, name: str, force: bool, prune: bool) -> builtins.list[DeleteItem]:
        return await asyncio.to_thread(self.service.remove, name, force, prune)

    async def prune(self, all_images: bool) -> tuple[builtins.list[DeleteItem], int]:
        return await asyncio.to_thread(self.service.prune, all_images)
