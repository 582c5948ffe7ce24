"""The image service as the API calls it: :class:`berth.images.ImageService` (synchronous,
thread-safe) run off the event loop, and a pull's progress turned into an async stream."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from berth.images import DeleteItem, ImageDetail, ImageService, ImageSummary, PullEvent, PushResult
from berth.oci.reference import Reference
from berth.registry import Credentials, Resolved

__all__ = ["ImageEngine"]

_DONE = object()


async def _relay(work: Callable[[Callable[[PullEvent], None]], object]) -> AsyncIterator[PullEvent]:
    """Run ``work(emit)`` in a thread and yield what it emits as it emits it; its error,
    if any, is raised after the events sent before it. If the client goes away the work
    finishes in its thread, as dockerd's pulls and pushes do."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()

    def emit(ev: PullEvent) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, ev)

    def run() -> None:
        try:
            work(emit)
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
            task.add_done_callback(lambda t: t.exception())


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
        async for item in _relay(lambda emit: self.service.pull(ref, emit, credentials, resolved)):
            yield item

    async def push_check(self, name: str) -> None:
        """NotFound (``An image does not exist locally with the tag: …``) before a push
        streams anything."""
        await asyncio.to_thread(self.service.push_refs, name)

    async def push(
        self, name: str, credentials: Credentials | None = None
    ) -> AsyncIterator[PullEvent | PushResult]:
        """The push's progress events as they happen, then a :class:`PushResult` per tag;
        the push's error, if any, is raised after the events sent before it."""
        results: builtins.list[PushResult] = []

        def run(emit: Callable[[PullEvent], None]) -> None:
            results.extend(self.service.push(name, emit, credentials))

        async for item in _relay(run):
            yield item
        for result in results:
            yield result

    async def login(self, server: str, username: str, password: str) -> None:
        """Check credentials against ``server`` (Unauthorized with the registry's
        wording); nothing is kept."""
        await asyncio.to_thread(self.service.login, server, username, password)

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
