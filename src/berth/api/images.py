"""Image routes: pull (``POST /images/create``), list, inspect, history, tag, remove, prune.

Wire shapes follow dockerd 20.10 at API 1.41 (README §2, §3.3, §3.5; traces
``pull_*.txt``, ``images*.txt``, ``inspect_image.txt``, ``tag.txt``, ``rmi*.txt``,
``history.txt``). Image names are not escaped in paths, so ``/images/{name:.*}/json``
and friends are matched by their suffix. A pull resolves its reference before answering,
so an unknown manifest is a 404 rather than an error inside a 200 stream.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from berth import errdefs
from berth.api.request import Request
from berth.api.response import JsonStream, Reply, empty, json_response, json_stream
from berth.api.router import Router
from berth.images import DeleteItem, ImageDetail, ImageSummary, PullEvent, PushResult, unix_seconds
from berth.oci.image import ImageConfig
from berth.oci.reference import Reference, parse_normalized_named
from berth.registry import Credentials, Resolved

__all__ = [
    "ImagesBackend",
    "credentials_from_header",
    "delete_wire",
    "detail_wire",
    "history_wire",
    "progress_bar",
    "pull_message",
    "push_message",
    "register",
    "summary_wire",
]

ZERO_TIME = "0001-01-01T00:00:00Z"


class ImagesBackend(Protocol):
    async def resolve(
        self, ref: str, credentials: Credentials | None = None
    ) -> tuple[Reference, Resolved]: ...

    def pull(
        self,
        ref: str,
        credentials: Credentials | None = None,
        resolved: tuple[Reference, Resolved] | None = None,
    ) -> AsyncIterator[PullEvent]: ...

    async def push_check(self, name: str) -> None: ...

    def push(
        self, name: str, credentials: Credentials | None = None
    ) -> AsyncIterator[PullEvent | PushResult]: ...

    async def list(self, filters: Mapping[str, Sequence[str]] | None = None) -> builtins.list[ImageSummary]: ...

    async def inspect(self, name: str) -> ImageDetail: ...

    async def tag(self, source: str, repo: str, tag: str) -> str: ...

    async def remove(self, name: str, force: bool, prune: bool) -> builtins.list[DeleteItem]: ...

    async def prune(self, all_images: bool) -> tuple[builtins.list[DeleteItem], int]: ...


# -- X-Registry-Auth ---------------------------------------------------------------------


def credentials_from_header(value: str) -> Credentials | None:
    """The base64url JSON AuthConfig clients send (``e30=`` is ``{}``: none)."""
    value = value.strip()
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        doc = json.loads(raw or b"{}")
    except (binascii.Error, ValueError) as exc:
        raise errdefs.InvalidArgument(f"invalid X-Registry-Auth header: {exc}") from None
    if not isinstance(doc, dict):
        return None
    creds = Credentials(
        username=str(doc.get("username") or ""),
        password=str(doc.get("password") or ""),
        identity_token=str(doc.get("identitytoken") or ""),
    )
    return creds if creds else None


# -- progress ------------------------------------------------------------------------------


def _human(size: float) -> str:
    """go-units HumanSizeWithPrecision(size, 4): decimal units, 4 significant digits."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.4g}{units[i]}"


def progress_bar(current: int, total: int) -> str:
    """The ``progress`` string of a JSON message, as jsonmessage.JSONProgress renders it
    for a 110-column terminal."""
    numbers = f"{_human(current):>8}/{_human(total)}" if total > 0 else f"{_human(current):>8}"
    if total <= 0 or current > total:
        return numbers
    pct = int(current / total * 50)
    return f"[{'=' * pct}>{' ' * (50 - pct)}] {numbers}"


def pull_message(ev: PullEvent) -> dict[str, Any]:
    msg: dict[str, Any] = {"status": ev.status}
    layer_status = ev.status in (
        "Pulling fs layer",
        "Waiting",
        "Downloading",
        "Verifying Checksum",
        "Download complete",
        "Extracting",
        "Pull complete",
        "Already exists",
    )
    if ev.current is not None:
        msg["progressDetail"] = {"current": ev.current, "total": ev.total or 0}
        msg["progress"] = progress_bar(ev.current, ev.total or 0)
    elif layer_status:
        msg["progressDetail"] = {}
    if ev.id:
        msg["id"] = ev.id
    return msg


def push_message(ev: PullEvent | PushResult) -> dict[str, Any]:
    if isinstance(ev, PushResult):
        return {"progressDetail": {}, "aux": {"Tag": ev.tag, "Digest": str(ev.digest), "Size": ev.size}}
    msg: dict[str, Any] = {"status": ev.status}
    if ev.current is not None:
        msg["progressDetail"] = {"current": ev.current, "total": ev.total or 0}
        msg["progress"] = progress_bar(ev.current, ev.total or 0)
    elif ev.id:
        msg["progressDetail"] = {}
    if ev.id:
        msg["id"] = ev.id
    return msg


# -- wire shapes -----------------------------------------------------------------------------


def summary_wire(s: ImageSummary) -> dict[str, Any]:
    tags: list[str] | None = list(s.repo_tags) or None
    digests: list[str] | None = list(s.repo_digests) or None
    if not tags and not digests:
        tags, digests = ["<none>:<none>"], ["<none>@<none>"]
    elif not tags:
        tags = ["<none>:<none>"]
    return {
        "Containers": -1,
        "Created": s.created,
        "Id": str(s.id),
        "Labels": dict(s.labels) or None,
        "ParentId": "",
        "RepoDigests": digests,
        "RepoTags": tags,
        "SharedSize": -1,
        "Size": s.size,
        "VirtualSize": s.size,
    }


def container_config_wire(c: ImageConfig | None) -> dict[str, Any]:
    c = c or ImageConfig()
    out: dict[str, Any] = {
        "Hostname": "",
        "Domainname": "",
        "User": c.user,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
    }
    if c.exposed_ports:
        out["ExposedPorts"] = {p: {} for p in c.exposed_ports}
    out |= {
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Env": list(c.env) or None,
        "Cmd": list(c.cmd) if c.cmd is not None else None,
    }
    if c.healthcheck is not None:
        out["Healthcheck"] = dict(c.healthcheck)
    if c.args_escaped:
        out["ArgsEscaped"] = True
    out |= {
        "Image": "",
        "Volumes": {v: {} for v in c.volumes} or None,
        "WorkingDir": c.working_dir,
        "Entrypoint": list(c.entrypoint) if c.entrypoint is not None else None,
        "OnBuild": list(c.on_build) if c.on_build is not None else None,
        "Labels": dict(c.labels) or None,
    }
    if c.stop_signal:
        out["StopSignal"] = c.stop_signal
    if c.stop_timeout is not None:
        out["StopTimeout"] = c.stop_timeout
    if c.shell is not None:
        out["Shell"] = list(c.shell)
    return out


def detail_wire(d: ImageDetail) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Id": str(d.id),
        "RepoTags": list(d.repo_tags),
        "RepoDigests": list(d.repo_digests),
        "Parent": "",
        "Comment": d.comment,
        "Created": d.created or ZERO_TIME,
        "Container": "",
        "ContainerConfig": container_config_wire(None),
        "DockerVersion": d.docker_version,
        "Author": d.author,
        "Config": container_config_wire(d.config),
        "Architecture": d.architecture,
    }
    if d.variant:
        out["Variant"] = d.variant
    out |= {
        "Os": d.os,
        "Size": d.size,
        "VirtualSize": d.size,
        "GraphDriver": {"Data": None, "Name": "overlay2"},
        "RootFS": {"Type": "layers", "Layers": [str(x) for x in d.diff_ids]},
        "Metadata": {"LastTagTime": ZERO_TIME},
    }
    return out


def history_wire(d: ImageDetail) -> list[dict[str, Any]]:
    """Newest first; the top entry carries the image id and tags, the others
    ``<missing>`` (their layers are not images of their own when pulled)."""
    sizes = list(d.layer_sizes)
    entries: list[dict[str, Any]] = []
    layer = 0
    for h in d.history:
        size = 0
        if not h.empty_layer and layer < len(sizes):
            size = sizes[layer]
            layer += 1
        entries.append(
            {
                "Comment": h.comment,
                "Created": unix_seconds(h.created),
                "CreatedBy": h.created_by,
                "Id": "<missing>",
                "Size": size,
                "Tags": None,
            }
        )
    if not entries:
        entries.append({"Comment": "", "Created": unix_seconds(d.created), "CreatedBy": "",
                        "Id": "<missing>", "Size": d.size, "Tags": None})
    entries.reverse()
    entries[0]["Id"] = str(d.id)
    entries[0]["Tags"] = list(d.repo_tags) or None
    return entries


def delete_wire(items: Sequence[DeleteItem]) -> list[dict[str, str]]:
    return [{"Untagged": i.untagged} if i.untagged else {"Deleted": i.deleted} for i in items]


# -- routes ------------------------------------------------------------------------------------


def _pull_ref(from_image: str, tag: str) -> str:
    if not from_image:
        raise errdefs.InvalidArgument("fromImage or fromSrc is required")
    if not tag:
        return from_image
    ref = parse_normalized_named(from_image)
    if tag.startswith("sha256:"):
        return str(ref.name_only().with_digest(tag))
    return str(ref.name_only().with_tag(tag))


def register(
    router: Router,
    backend: ImagesBackend,
    importer: Callable[[Request], Awaitable[Reply]] | None = None,
) -> None:
    async def create(req: Request) -> Reply:
        if req.q("fromSrc"):
            if importer is None:
                raise errdefs.NotImplemented("import (fromSrc) is not supported")
            return await importer(req)
        ref = _pull_ref(req.q("fromImage"), req.q("tag"))
        creds = credentials_from_header(req.header("x-registry-auth"))
        resolved = await backend.resolve(ref, creds)

        async def produce(out: JsonStream) -> None:
            try:
                async for ev in backend.pull(ref, creds, resolved):
                    await out.send(pull_message(ev))
            except errdefs.BerthError as exc:
                await out.error(exc.message)

        return json_stream(produce)

    async def push(req: Request) -> Reply:
        name = req.params["name"]
        if req.q("tag"):
            name = f"{name}:{req.q('tag')}"
        creds = credentials_from_header(req.header("x-registry-auth"))
        await backend.push_check(name)

        async def produce(out: JsonStream) -> None:
            try:
                async for ev in backend.push(name, creds):
                    await out.send(push_message(ev))
            except errdefs.BerthError as exc:
                await out.error(exc.message)

        return json_stream(produce)

    async def list_images(req: Request) -> Reply:
        filters = dict(req.filters())
        if req.q("filter"):  # API < 1.41 clients: ?filter=<reference>
            filters.setdefault("reference", []).append(req.q("filter"))
        images = await backend.list(filters)
        # ``digests`` changes only the CLI's table: dockerd sends RepoDigests either way
        return json_response([summary_wire(s) for s in images])

    async def inspect(req: Request) -> Reply:
        name = req.params["name"]
        try:
            d = await backend.inspect(name)
        except errdefs.NotFound as exc:
            raise errdefs.NotFound(f"no such image: {name}: {exc.message}") from None
        return json_response(detail_wire(d))

    async def history(req: Request) -> Reply:
        d = await backend.inspect(req.params["name"])
        return json_response(history_wire(d))

    async def tag(req: Request) -> Reply:
        await backend.tag(req.params["name"], req.q("repo"), req.q("tag"))
        return empty(201)

    async def remove(req: Request) -> Reply:
        items = await backend.remove(
            req.params["name"], req.q_bool("force"), not req.q_bool("noprune")
        )
        return json_response(delete_wire(items))

    async def prune(req: Request) -> Reply:
        filters = req.filters()
        dangling = filters.get("dangling", ["true"])
        all_images = any(v.lower() in ("false", "0") for v in dangling)
        items, reclaimed = await backend.prune(all_images)
        return json_response(
            {"ImagesDeleted": delete_wire(items) or None, "SpaceReclaimed": reclaimed}
        )

    router.add("POST", "/images/create", create)
    router.add("GET", "/images/json", list_images)
    router.add("POST", "/images/prune", prune)
    router.add("GET", "/images/{name:.*}/json", inspect)
    router.add("GET", "/images/{name:.*}/history", history)
    router.add("POST", "/images/{name:.*}/tag", tag)
    router.add("POST", "/images/{name:.*}/push", push)
    router.add("DELETE", "/images/{name:.*}", remove)
