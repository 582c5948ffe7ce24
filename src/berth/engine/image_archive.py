"""save/load (and later import) as the API calls them: the synchronous archive code of
:mod:`berth.images.archive` run off the event loop, a save's tar streamed as it is
written, a load's body spooled to a temporary file first (a tar is read by seeking)."""

from __future__ import annotations

import asyncio
import builtins
import tempfile
from collections.abc import AsyncIterator, Sequence
from typing import IO

from berth.images import ImageService
from berth.images.archive import load_archive, save_archive
from berth.images.importer import import_image

__all__ = ["ImageArchive"]

_DONE = object()
_SPOOL = 8 << 20


class _QueueWriter:
    """A file for the writing thread; each write waits for room in the bounded queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object]) -> None:
        self._loop = loop
        self._queue = queue
        self._buf = bytearray()
        self.closed = False

    def write(self, data: bytes) -> int:
        self._buf += data
        if len(self._buf) >= 1 << 16:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.closed:
            raise BrokenPipeError("the client went away")
        if self._buf:
            chunk, self._buf = bytes(self._buf), bytearray()
            asyncio.run_coroutine_threadsafe(self._queue.put(chunk), self._loop).result()


class ImageArchive:
    def __init__(self, service: ImageService) -> None:
        self.service = service

    async def save_check(self, names: Sequence[str]) -> None:
        """NotFound before a save streams anything."""
        for n in names:
            await asyncio.to_thread(self.service.image_id, n)

    async def save(self, names: Sequence[str]) -> AsyncIterator[bytes]:
        """The tar's bytes as they are written; an error is raised after what was sent."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=16)

        w = _QueueWriter(loop, queue)

        def run() -> None:
            try:
                save_archive(self.service, names, w)  # type: ignore[arg-type]
                w.flush()
            finally:
                asyncio.run_coroutine_threadsafe(queue.put(_DONE), loop).result()

        task = asyncio.ensure_future(asyncio.to_thread(run))
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                assert isinstance(item, bytes)
                yield item
            await task
        finally:
            if not task.done():
                # the client went away: the writer fails on its next chunk
                w.closed = True
                while not queue.empty():
                    queue.get_nowait()
                task.add_done_callback(lambda t: t.exception())

    async def load(self, body: IO[bytes]) -> builtins.list[str]:
        """Load the tar in ``body`` (a seekable file); Docker's ``Loaded image…`` lines."""
        lines: builtins.list[str] = []
        await asyncio.to_thread(load_archive, self.service, body, lines.append)
        return lines

    async def import_image(
        self, body: IO[bytes], repo: str, tag: str, changes: Sequence[str], message: str
    ) -> str:
        """``docker import`` of the tarball in ``body``; the new image's id."""
        d = await asyncio.to_thread(import_image, self.service, body, repo, tag, changes, message)
        return str(d)

    @staticmethod
    def spool() -> IO[bytes]:
        return tempfile.SpooledTemporaryFile(_SPOOL)
