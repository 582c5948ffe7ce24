"""Routes for a container's files: ``HEAD|GET|PUT /containers/{id}/archive`` (``docker
cp``), ``GET /containers/{id}/changes`` (``docker diff``), ``GET /containers/{id}/export``
and ``POST /commit`` (traces ``cp_from.txt``, ``cp_to.txt``, ``diff.txt``, ``commit.txt``).

The path's stat travels in ``X-Docker-Container-Path-Stat`` (base64 JSON) on HEAD and
GET; a missing path is 404 ``Could not find the file <path> in container <ref>``. A PUT's
body is spooled before extraction so that a slow upload never holds the container's
lock; a GET's tar is made under the lock, then streamed.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Sequence
from typing import IO, Any, Protocol

from berth import errdefs
from berth.api.request import Request
from berth.api.response import Reply, Response, StreamResponse, StreamWriter, empty, json_response
from berth.api.router import Router
from berth.engine.containers.archive import ContainerArchive, PathStat
from berth.engine.containers.changes import Change
from berth.engine.containers.service import ContainerService
from berth.images import ImageService

__all__ = ["ContainerArchiveBackend", "backend_for", "register"]

MEDIA_TAR = "application/x-tar"
STAT_HEADER = "X-Docker-Container-Path-Stat"
_CHUNK = 1 << 20


class ContainerArchiveBackend(Protocol):
    """What :class:`berth.engine.containers.archive.ContainerArchive` offers."""

    def spool(self) -> IO[bytes]: ...

    def stat(self, ref: str, path: str) -> PathStat: ...

    def archive(self, ref: str, path: str) -> tuple[PathStat, IO[bytes]]: ...

    def extract(
        self, ref: str, path: str, body: Any, *, no_overwrite_dir_non_dir: bool = False, copy_uid_gid: bool = False
    ) -> None: ...

    def export(self, ref: str) -> IO[bytes]: ...

    def changes(self, ref: str) -> builtins.list[Change]: ...

    def commit(
        self,
        ref: str,
        *,
        repo: str = "",
        tag: str = "",
        comment: str = "",
        author: str = "",
        pause: bool = True,
        changes: Sequence[str] = (),
        config: dict[str, Any] | None = None,
    ) -> str: ...


def backend_for(containers: ContainerService, images: ImageService) -> ContainerArchiveBackend:
    """The engine's implementation, for the wiring."""
    return ContainerArchive(containers, images)


def _stream_file(f: IO[bytes], headers: dict[str, str] | None = None) -> StreamResponse:
    async def produce(w: StreamWriter) -> None:
        try:
            while chunk := await asyncio.to_thread(f.read, _CHUNK):
                await w.write(chunk)
        finally:
            f.close()

    return StreamResponse(produce, 200, MEDIA_TAR, headers)


def _path(req: Request) -> str:
    path = req.q("path")
    if not path:
        raise errdefs.InvalidArgument("Path cannot be empty")
    return path


def register(router: Router, backend: ContainerArchiveBackend) -> None:
    run = asyncio.to_thread

    async def head_archive(req: Request) -> Reply:
        ps = await run(backend.stat, req.params["id"], _path(req))
        return Response(200, b"", {STAT_HEADER: ps.header_value()})

    async def get_archive(req: Request) -> Reply:
        ps, f = await run(backend.archive, req.params["id"], _path(req))
        return _stream_file(f, {STAT_HEADER: ps.header_value()})

    async def put_archive(req: Request) -> Reply:
        path = _path(req)
        f = backend.spool()
        try:
            while data := await req.body.read(_CHUNK):
                await run(f.write, data)
            f.seek(0)
            await run(
                lambda: backend.extract(
                    req.params["id"],
                    path,
                    f,
                    no_overwrite_dir_non_dir=req.q_bool("noOverwriteDirNonDir"),
                    copy_uid_gid=req.q_bool("copyUIDGID"),
                )
            )
        finally:
            f.close()
        return empty(200)

    async def changes(req: Request) -> Reply:
        out = await run(backend.changes, req.params["id"])
        return json_response([{"Path": c.path, "Kind": c.kind} for c in out])

    async def export(req: Request) -> Reply:
        f = await run(backend.export, req.params["id"])
        return _stream_file(f)

    async def commit(req: Request) -> Reply:
        body = await req.json()
        if body is not None and not isinstance(body, dict):
            raise errdefs.InvalidArgument("config must be a JSON object")
        pause = req.q_bool("pause") if req.q("pause") else True
        image_id = await run(
            lambda: backend.commit(
                req.q("container"),
                repo=req.q("repo"),
                tag=req.q("tag"),
                comment=req.q("comment"),
                author=req.q("author"),
                pause=pause,
                changes=req.query.get("changes", []),
                config=body,
            )
        )
        return json_response({"Id": image_id}, 201)

    router.add("HEAD", "/containers/{id}/archive", head_archive)
    router.add("GET", "/containers/{id}/archive", get_archive)
    router.add("PUT", "/containers/{id}/archive", put_archive)
    router.add("GET", "/containers/{id}/changes", changes)
    router.add("GET", "/containers/{id}/export", export)
    router.add("POST", "/commit", commit)
