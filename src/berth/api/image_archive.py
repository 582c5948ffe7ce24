"""Image archive routes: save (``GET /images/get``, ``GET /images/{name}/get``) and load
(``POST /images/load``); :func:`import_handler` serves ``POST /images/create?fromSrc=-``
for the image routes. Traces ``save.txt``, ``load.txt``; README §2, §3.3."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import IO, Protocol

from berth import errdefs
from berth.api.request import Request
from berth.api.response import JsonStream, Reply, StreamResponse, StreamWriter, json_stream
from berth.api.router import Router

__all__ = ["ImageArchiveBackend", "import_handler", "register"]

MEDIA_TAR = "application/x-tar"


class ImageArchiveBackend(Protocol):
    async def save_check(self, names: Sequence[str]) -> None: ...

    def save(self, names: Sequence[str]) -> AsyncIterator[bytes]: ...

    async def load(self, body: IO[bytes]) -> builtins.list[str]: ...

    def spool(self) -> IO[bytes]: ...

    async def import_image(
        self, body: IO[bytes], repo: str, tag: str, changes: Sequence[str], message: str
    ) -> str: ...


async def _spool_body(req: Request, backend: ImageArchiveBackend) -> IO[bytes]:
    f = backend.spool()
    try:
        while data := await req.body.read(1 << 20):
            f.write(data)
        f.seek(0)
    except BaseException:
        f.close()
        raise
    return f


def import_handler(backend: ImageArchiveBackend) -> Callable[[Request], Awaitable[Reply]]:
    """``POST /images/create?fromSrc=-``: the body is a rootfs tarball; the stream's one
    message is the new image's id (``{"status":"sha256:…"}``), as dockerd sends it."""

    async def create_from_src(req: Request) -> Reply:
        if req.q("fromSrc") != "-":
            raise errdefs.NotImplemented("import from a URL is not supported")
        changes = req.query.get("changes", [])
        f = await _spool_body(req, backend)

        async def produce(out: JsonStream) -> None:
            try:
                image_id = await backend.import_image(
                    f, req.q("repo"), req.q("tag"), changes, req.q("message")
                )
                await out.send({"status": image_id})
            except errdefs.BerthError as exc:
                await out.error(exc.message)
            finally:
                f.close()

        return json_stream(produce)

    return create_from_src


def register(router: Router, backend: ImageArchiveBackend) -> None:
    async def _save(names: builtins.list[str]) -> Reply:
        if not names:
            raise errdefs.InvalidArgument("no images to save")
        await backend.save_check(names)

        async def produce(w: StreamWriter) -> None:
            async for chunk in backend.save(names):
                await w.write(chunk)

        return StreamResponse(produce, 200, MEDIA_TAR)

    async def save_many(req: Request) -> Reply:
        return await _save(req.query.get("names", []))

    async def save_one(req: Request) -> Reply:
        return await _save([req.params["name"]])

    async def load(req: Request) -> Reply:
        f = await _spool_body(req, backend)

        async def produce(out: JsonStream) -> None:
            try:
                for line in await backend.load(f):
                    await out.send({"stream": line})
            except errdefs.BerthError as exc:
                await out.error(exc.message)
            finally:
                f.close()

        return json_stream(produce)

    router.add("GET", "/images/get", save_many)
    router.add("POST", "/images/load", load)
    router.add("GET", "/images/{name:.*}/get", save_one)
