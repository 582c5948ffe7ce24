"""The image service as the API calls it: :class:`berth.images.ImageService` (synchronous,
thread-safe) run off the event loop, and a pull's progress turned into an async stream.

Image events (dockerd's ``LogImageEvent``) go to the daemon's event bus when one is set:
``pull`` (actor and ``name``: the familiar reference, ``busybox:latest``), ``tag`` (actor:
the image id; ``name``: the new name), ``untag`` and ``delete`` (actor and ``name``: the
image id)."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from berth.engine.events import EventBus
from berth.errdefs import BerthError
from berth.images import DeleteItem, ImageDetail, ImageService, ImageSummary, PullEvent, PushResult
from berth.oci.reference import Reference, parse_normalized_named
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
    def __init__(self, service: ImageService, events: EventBus | None = None) -> None:
        self.service = service
        self.events = events

    def _image_id(self, name: str) -> str:
        """The id ``name`` resolves to now ("" when it does not: the operation itself
        then reports that, in its own words)."""
        try:
            return str(self.service.inspect(name).id)
        except BerthError:
            return ""

    def _publish(self, action: str, actor: str, name: str) -> None:
        if self.events is not None:
            self.events.publish("image", action, actor, {"name": name})

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
        try:
            name = parse_normalized_named(ref).tag_name_only().familiar_string()
        except BerthError:
            name = ref
        self._publish("pull", name, name)

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
        def work() -> tuple[str, str]:
            image_id = self._image_id(source)
            return image_id, self.service.tag(source, repo, tag)

        image_id, new = await asyncio.to_thread(work)
        self._publish("tag", image_id, new)
        return new

    async def remove(self, name: str, force: bool, prune: bool) -> builtins.list[DeleteItem]:
        def work() -> tuple[str, builtins.list[DeleteItem]]:
            image_id = self._image_id(name)
            return image_id, self.service.remove(name, force, prune)

        image_id, items = await asyncio.to_thread(work)
        for item in items:
            if item.untagged:
                self._publish("untag", image_id, image_id)
            elif item.deleted == image_id:
                self._publish("delete", image_id, image_id)
        return items

    async def prune(self, all_images: bool) -> tuple[builtins.list[DeleteItem], int]:
        return await asyncio.to_thread(self.service.prune, all_images)
