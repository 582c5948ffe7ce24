"""``POST /build`` and ``POST /build/prune``: the classic (non-BuildKit) builder's routes.

The request body is the build context, a tar (possibly compressed) the client streams
(chunked or sized); the engine reads it through :class:`BodyReader`, a blocking file
object over the body as it arrives, from the worker thread the build runs on. The
build's JSON messages (``{"stream": …}``, ``{"aux": {"ID": …}}``, ``{"errorDetail": …,
"error": …}``) come from that thread through ``emit`` and a queue to the event loop,
which sends them as one JSON-message stream (:func:`berth.api.response.json_stream`).

Two rules from dockerd's route (moby ``api/server/router/build/build_routes.go``):

- **Errors before output are HTTP errors.** The status line is held back until the
  engine's first message; an error raised before it (a bad Dockerfile name, a context
  that is no tar) answers with its status and ``{"message": …}``. Once output has
  started, the engine sends the error as the stream's last message itself and the stream
  ends cleanly.
- **Output waits for the whole context.** Nothing is sent while the client is still
  uploading (dockerd's ``wrapOutputBufferedUntilRequestRead``): an HTTP/1.1 peer that is
  still writing its body need not read, and the server would take unread body bytes for
  a disconnect.

``q=1`` (``docker build -q``): messages are held; on success the only message is the
image id as a ``stream`` line; on failure the held messages are sent, ending with the
engine's error.

``version=2`` asks for BuildKit, which berth does not have: refused with 400. The docker
CLI (23+) uses BuildKit through the buildx plugin by default; with ``DOCKER_BUILDKIT=0``,
or with no buildx installed (after a deprecation warning), it uses this classic API.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, BinaryIO, Protocol

from berth import errdefs
from berth.api.filters import check_keys
from berth.api.request import Request
from berth.api.response import JsonStream, Reply, json_response, json_stream
from berth.api.router import Router
from berth.engine.build_types import BuildRequest

__all__ = [
    "BUILDKIT_REFUSED",
    "BodyReader",
    "BuildBackend",
    "Emit",
    "parse_build_request",
    "register",
    "registry_config",
]

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]

BUILDKIT_REFUSED = (
    "berth's builder is the classic builder (API builder version 1): "
    "BuildKit (version=2) is not supported; build with DOCKER_BUILDKIT=0"
)

PRUNE_FILTERS = (
    "until", "unused-for", "unused_for", "id", "parent", "type", "description", "inuse", "shared", "private",
)  # fmt: skip


class BuildBackend(Protocol):
    def build(self, context: BinaryIO, req: BuildRequest, emit: Emit) -> str:
        """Build from ``context`` (the uploaded tar, compressed or not) and return the
        image id. Blocking: called on a worker thread, ``emit`` from that thread. A
        :class:`berth.errdefs.BerthError` raised before the first ``emit`` is an API
        error; after it, the backend has emitted the error message itself."""
        ...

    def prune(
        self, all: bool, filters: Mapping[str, Sequence[str]], keep_storage: int
    ) -> tuple[list[str], int]:
        """Remove build cache records: (ids removed, bytes reclaimed). Blocking."""
        ...


# -- the query ------------------------------------------------------------------------------


def _json_param(req: Request, name: str, what: str, default: Any) -> Any:
    raw = req.q(name)
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errdefs.InvalidArgument(f"error reading {what}: {exc}") from None


def _string_map(value: Any, what: str, allow_null: bool) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(v, str) or (allow_null and v is None) for v in value.values()
    ):
        raise errdefs.InvalidArgument(f"error reading {what}: expected a JSON object of strings")
    return dict(value)


def registry_config(value: str) -> dict[str, dict[str, str]]:
    """``X-Registry-Config``: base64 (URL or standard alphabet) of a JSON object mapping
    a registry host to its AuthConfig. dockerd ignores a header it cannot decode (a pull
    without credentials then fails or not on its own), and so does berth."""
    value = value.strip()
    if not value:
        return {}
    try:
        raw = base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4))
        doc = json.loads(raw or b"{}")
    except (binascii.Error, ValueError):
        return {}
    if not isinstance(doc, dict):
        return {}
    out: dict[str, dict[str, str]] = {}
    for host, auth in doc.items():
        if isinstance(auth, dict):
            out[str(host)] = {str(k): str(v) for k, v in auth.items() if v is not None}
    return out


def parse_build_request(req: Request) -> BuildRequest:
    """``POST /build``'s query (Engine API 1.41) as a :class:`BuildRequest`."""
    version = req.q("version")
    if version == "2":
        raise errdefs.InvalidArgument(BUILDKIT_REFUSED)
    if version not in ("", "1"):
        raise errdefs.InvalidArgument(f'invalid version "{version}"')
    remote = req.q("remote")
    if remote:
        raise errdefs.NotImplemented(
            "berth builds from an uploaded context only: remote contexts are not supported"
        )
    build_args = _string_map(_json_param(req, "buildargs", "build args", None), "build args", True)
    labels = _string_map(_json_param(req, "labels", "labels", None), "labels", False)
    cache_from = _json_param(req, "cachefrom", "cache-from", [])
    if cache_from is None:
        cache_from = []
    if not isinstance(cache_from, list) or not all(isinstance(c, str) for c in cache_from):
        raise errdefs.InvalidArgument("error reading cache-from: expected a JSON list of strings")
    extra_hosts = [h.strip() for v in req.query.get("extrahosts", []) for h in v.split(",") if h.strip()]
    force_rm = req.q_bool("forcerm")
    return BuildRequest(
        tags=[t for t in req.query.get("t", []) if t],
        dockerfile=req.q("dockerfile") or "Dockerfile",
        build_args=build_args,
        labels=labels,
        no_cache=req.q_bool("nocache"),
        pull=req.q_bool("pull"),
        quiet=req.q_bool("q"),
        rm=True if force_rm or not req.q("rm") else req.q_bool("rm"),
        force_rm=force_rm,
        target=req.q("target"),
        cache_from=cache_from,
        network_mode=req.q("networkmode"),
        platform=req.q("platform"),
        extra_hosts=extra_hosts,
        shm_size=req.q_int("shmsize"),
        memory=req.q_int("memory"),
        cpu_quota=req.q_int("cpuquota"),
        registry_auth=registry_config(req.header("x-registry-config")),
        context_dir=req.q("contextdir"),
        context_id=req.q("contextid"),
    )


# -- the body -------------------------------------------------------------------------------


class _End:
    """The build's outcome, queued after its last message."""

    __slots__ = ("exc", "image_id")

    def __init__(self, image_id: str = "", exc: BaseException | None = None) -> None:
        self.image_id = image_id
        self.exc = exc


_BODY_DONE = object()


class BodyReader(io.RawIOBase):
    """The request body as a blocking, read-only file for a worker thread: each read
    waits for the event loop to read the body. At the end of the body ``on_eof`` is
    called (on the loop)."""

    def __init__(self, req: Request, loop: asyncio.AbstractEventLoop, on_eof: Callable[[], None]) -> None:
        super().__init__()
        self._req = req
        self._loop = loop
        self._on_eof = on_eof
        self._left = b""
        self.eof = False

    def readable(self) -> bool:
        return True

    async def _read(self, n: int) -> bytes:
        # gather up to n bytes in one trip (a body read gives at most what one socket read
        # brought): trips between the worker thread and the loop are what uploads cost
        out = bytearray()
        while len(out) < n:
            data = await self._req.body.read(n - len(out))
            if not data:
                self.eof = True
                self._on_eof()
                break
            out += data
        return bytes(out)

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        if not self._left:
            if self.eof or not len(view):
                return 0
            try:
                # large reads: each one is a trip to the event loop and back
                self._left = asyncio.run_coroutine_threadsafe(self._read(max(len(view), 1 << 20)), self._loop).result()
            except errdefs.BerthError:
                raise
            except Exception as exc:
                raise errdefs.InvalidArgument(f"error reading the build context: {exc}") from None
        n = min(len(view), len(self._left))
        view[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


# -- the routes -----------------------------------------------------------------------------


def _error_message(exc: BaseException) -> dict[str, Any]:
    message = exc.message if isinstance(exc, errdefs.BerthError) else str(exc) or type(exc).__name__
    return {"errorDetail": {"message": message}, "error": message}


def register(router: Router, backend: BuildBackend) -> None:
    async def build(req: Request) -> Reply:
        breq = parse_build_request(req)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        gone = threading.Event()

        def put(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def emit(msg: dict[str, Any]) -> None:
            if gone.is_set():
                raise errdefs.Unavailable("build canceled: the client went away")
            put(msg)

        reader = BodyReader(req, loop, lambda: queue.put_nowait(_BODY_DONE))
        context = io.BufferedReader(reader, 1 << 20)

        def run() -> None:
            try:
                put(_End(backend.build(context, breq, emit)))
            except BaseException as exc:  # handed to the loop: raised or sent there
                put(_End(exc=exc))

        worker = asyncio.ensure_future(asyncio.to_thread(run))
        held: list[dict[str, Any]] = []
        end: _End | None = None
        body_done = False
        while end is None and not (held and body_done):
            item = await queue.get()
            if item is _BODY_DONE:
                body_done = True
            elif isinstance(item, _End):
                end = item
            else:
                assert isinstance(item, dict)
                held.append(item)
        if end is not None:
            await worker
            if end.exc is not None and not held:
                raise end.exc
        if not body_done and end is not None:
            # the build is over without reading all of the context: read the rest, so
            # the response goes out after the request (see the module's docstring)
            while await req.body.read():
                pass

        async def produce(out: JsonStream) -> None:
            nonlocal end
            try:
                if not breq.quiet:
                    for msg in held:
                        await out.send(msg)
                    held.clear()
                while end is None:
                    item = await queue.get()
                    if isinstance(item, _End):
                        end = item
                        await worker
                    elif isinstance(item, dict):
                        if breq.quiet:
                            held.append(item)
                        else:
                            await out.send(item)
                if end.exc is None:
                    if breq.quiet:
                        await out.send({"stream": end.image_id + "\n"})
                    return
                for msg in held:
                    await out.send(msg)
                if not isinstance(end.exc, errdefs.BerthError):
                    log.error("build failed", exc_info=end.exc)
                    await out.send(_error_message(end.exc))
            except BaseException:
                gone.set()  # the client went away: the build stops at its next message
                raise

        return json_stream(produce)

    async def prune(req: Request) -> Reply:
        filters = req.filters()
        check_keys(filters, PRUNE_FILTERS)
        raw = req.q("keep-storage").strip() or "0"
        try:
            keep = int(raw)
        except ValueError:
            raise errdefs.InvalidArgument(
                f"keep-storage is in bytes and expects an integer, got {raw}"
            ) from None
        deleted, reclaimed = await asyncio.to_thread(backend.prune, req.q_bool("all"), filters, keep)
        return json_response({"CachesDeleted": list(deleted), "SpaceReclaimed": reclaimed})

    router.add("POST", "/build", build)
    router.add("POST", "/build/prune", prune)
