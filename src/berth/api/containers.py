"""Container routes: create, list, inspect, start, stop, restart, kill, wait, remove,
attach, resize, logs, rename, prune (dockerd 20.10 at API 1.41; traces ``create.txt``,
``start.txt``, ``ps*.txt``, ``inspect_container.txt``, ``stop.txt``, ``kill.txt``,
``rm*.txt``, ``attach.txt``, ``logs*.txt``, ``run_*.txt``, ``err_*.txt``).

Traps kept (api-traces README): ``wait`` sends its headers at once and the body when the
condition holds; ``attach`` and the hijacked streams keep sending output after the client
half-closes its side (that only ends stdin); a start or stop of a container already in
that state is ``304`` with no body.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import re
import socket
import time
from collections.abc import Callable

from berth import errdefs
from berth.api.container_wire import (
    config_from_wire,
    endpoints_from_wire,
    host_config_from_wire,
    inspect_wire,
    summary_wire,
)
from berth.api.filters import check_keys, parse_ts, until_cutoff
from berth.api.request import Request
from berth.api.response import (
    Hijack,
    HijackedStream,
    Reply,
    StreamResponse,
    StreamWriter,
    empty,
    json_response,
)
from berth.api.router import Router
from berth.api.stdcopy import Demuxer, frame
from berth.api.wire import MEDIA_MULTIPLEXED_STREAM, MEDIA_RAW_STREAM
from berth.engine.containers.model import Container
from berth.engine.containers.service import ContainerService
from berth.logs import reader as log_reader
from berth.logs.timefmt import parse_time
from berth.units import duration

__all__ = ["register", "status_text"]

_DEFAULT_DETACH = b"\x10\x11"  # ctrl-p ctrl-q


def _since(rfc: str) -> float:
    try:
        return max(0.0, time.time() - parse_time(rfc) / 1e9)
    except ValueError:
        return 0.0


def status_text(c: Container) -> str:
    """The ``Status`` column of ``docker ps`` (moby container/state.go String)."""
    s = c.state
    if s.running:
        if s.paused:
            return f"Up {duration(_since(s.started_at))} (Paused)"
        if s.restarting:
            return f"Restarting ({s.exit_code}) {duration(_since(s.finished_at))} ago"
        health = f" ({s.health.status})" if s.health is not None else ""
        if s.health is not None and s.health.status == "starting":
            health = " (health: starting)"
        return f"Up {duration(_since(s.started_at))}{health}"
    if s.restarting:
        return f"Restarting ({s.exit_code}) {duration(_since(s.finished_at))} ago"
    if s.status == "removing":
        return "Removal In Progress"
    if s.dead:
        return "Dead"
    if s.status == "created" or s.finished_at.startswith("0001"):
        return "Created"
    return f"Exited ({s.exit_code}) {duration(_since(s.finished_at))} ago"


_PS_FILTERS = (
    "ancestor", "before", "exited", "health", "id", "label", "name", "status", "since",
    "volume", "network", "is-task", "publish", "expose",
)
_STATES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")
_HEALTH = ("starting", "healthy", "unhealthy", "none")


def _check_ps_filters(filters: dict[str, list[str]]) -> None:
    """dockerd's refusals of unknown filter names and of bad ``status``/``health``/
    ``exited``/``is-task`` values (``Invalid filter 'status=bogus'``, 400)."""
    check_keys(filters, _PS_FILTERS)
    allowed = {"status": _STATES, "health": _HEALTH, "is-task": ("true", "false")}
    for key, values in filters.items():
        for v in values:
            if (key in allowed and v not in allowed[key]) or (key == "exited" and not v.lstrip("-").isdigit()):
                raise errdefs.InvalidArgument(f"Invalid filter '{key}={v}'")


def _name_matches(pattern: str, name: str) -> bool:
    """moby matches ``name`` values as regular expressions against ``/name`` and ``name``."""
    try:
        rx = re.compile(pattern)
    except re.error:
        return pattern.removeprefix("/") in name
    return bool(rx.search("/" + name) or rx.search(name))


def _ancestor_matches(ref: str, c: Container, service: ContainerService) -> bool:
    """``ancestor`` names an image (name, name:tag, id or id prefix); an image that does
    not resolve matches nothing."""
    if ref in (c.config.image, c.image) or c.image.startswith("sha256:" + ref):
        return True
    try:
        return str(service.images.inspect(ref).id) == c.image
    except errdefs.BerthError:
        return False


def _port_set(key: str, values: list[str]) -> set[str]:
    """``publish``/``expose`` values (``80``, ``80/udp``, ``8000-8010/tcp``) as ``port/proto``."""
    out: set[str] = set()
    for v in values:
        if ":" in v:
            raise errdefs.InvalidArgument(f"filter for '{key}' should not contain ':': {v}")
        port, _, proto = v.partition("/")
        lo, _, hi = port.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise errdefs.InvalidArgument(f"invalid range specified for {key}: {v}")
        out.update(f"{n}/{proto or 'tcp'}" for n in range(int(lo), int(hi or lo) + 1))
    return out


def _ports_match(key: str, values: list[str], c: Container) -> bool:
    """moby's ``publish`` (a host port) and ``expose`` (a container port) filters, over
    the ports ``docker ps`` shows."""
    want = _port_set(key, values)
    for p in summary_wire(c, "")["Ports"]:
        if key == "expose" and f"{p['PrivatePort']}/{p['Type']}" in want:
            return True
        if key == "publish" and p.get("PublicPort") and f"{p['PublicPort']}/{p['Type']}" in want:
            return True
    return False


def _match(c: Container, filters: dict[str, list[str]], service: ContainerService) -> bool:
    for key, values in filters.items():
        if key == "id" and not any(c.id.startswith(v) for v in values):
            return False
        if key == "name" and not any(_name_matches(v, c.name) for v in values):
            return False
        if key == "status" and c.state.status not in values:
            return False
        if key == "exited":
            if c.state.running or c.state.status != "exited" or str(c.state.exit_code) not in values:
                return False
        if key == "label":
            for v in values:
                k, eq, want = v.partition("=")
                if k not in c.config.labels or (eq and c.config.labels[k] != want):
                    return False
        if key == "ancestor" and not any(_ancestor_matches(v, c, service) for v in values):
            return False
        if key == "health":
            h = c.state.health.status if c.state.health is not None else "none"
            if h not in values:
                return False
        if key == "volume" and not any(
            any(v in (m.name, m.destination, m.source) for m in c.mounts) for v in values
        ):
            return False
        if key == "network" and not any(v in c.network_settings.networks or v == c.host_config.network_mode for v in values):
            return False
        if key in ("before", "since"):
            try:
                ref = service.get(values[0])
            except errdefs.NotFound:
                raise errdefs.NotFound(f"No such container: {values[0]}") from None
            if key == "before" and not c.created < ref.created:
                return False
            if key == "since" and not c.created > ref.created:
                return False
        if key in ("publish", "expose") and not _ports_match(key, values, c):
            return False
        if key == "is-task" and "true" in values:
            return False
    return True


def register(router: Router, service: ContainerService) -> None:
    run = asyncio.to_thread

    async def create(req: Request) -> Reply:
        body = await req.json()
        if not isinstance(body, dict):
            raise errdefs.InvalidArgument("config cannot be empty in order to create a container")
        config = config_from_wire(body)
        host_config = host_config_from_wire(body.get("HostConfig"))
        endpoints = endpoints_from_wire(body.get("NetworkingConfig"))
        c, warnings = await run(
            service.create, req.q("name"), config, host_config, platform=req.q("platform"), endpoints=endpoints
        )
        return json_response({"Id": c.id, "Warnings": warnings or []}, 201)

    async def list_(req: Request) -> Reply:
        all_ = req.q_bool("all")
        limit = req.q_int("limit", -1)
        size = req.q_bool("size")
        filters = dict(req.filters())
        _check_ps_filters(filters)
        if req.q_bool("latest") or req.q_bool("last"):
            limit = 1
        cs = sorted(service.list(), key=lambda c: c.created, reverse=True)
        if not all_ and limit <= 0 and not any(k in filters for k in ("status", "exited")):
            cs = [c for c in cs if c.state.running]
        cs = [c for c in cs if _match(c, filters, service)]
        if limit > 0:
            cs = cs[:limit]
        out = []
        for c in cs:
            rw = root = None
            if size:
                rw, root = await run(service.sizes, c)
            out.append(summary_wire(c, status_text(c), rw, root))
        return json_response(out)

    async def inspect(req: Request) -> Reply:
        c = service.get(req.params["id"])
        rw = root = None
        if req.q_bool("size"):
            rw, root = await run(service.sizes, c)
        return json_response(inspect_wire(c, rw, root))

    async def start(req: Request) -> Reply:
        c = service.get(req.params["id"])
        if c.state.running and not c.state.restarting:
            return empty(304)
        await run(service.start, c.id)
        return empty(204)

    def _timeout(req: Request) -> int | None:
        if not req.q("t"):
            return None
        return req.q_int("t")

    async def stop(req: Request) -> Reply:
        c = service.get(req.params["id"])
        done = await run(service.stop, c.id, _timeout(req), req.q("signal"))
        return empty(204 if done else 304)

    async def restart(req: Request) -> Reply:
        await run(service.restart, req.params["id"], _timeout(req), req.q("signal"))
        return empty(204)

    async def kill(req: Request) -> Reply:
        ref = req.params["id"]
        try:
            await run(lambda: service.kill(ref, req.q("signal"), manual=True))
        except errdefs.NotFound as exc:  # dockerd's wording: "Cannot kill container: X: …"
            raise errdefs.NotFound(f"Cannot kill container: {ref}: {exc.message}") from None
        return empty(204)

    async def wait(req: Request) -> Reply:
        fut = service.wait_future(req.params["id"], req.q("condition"))

        async def produce(w: StreamWriter) -> None:
            res = await asyncio.wrap_future(fut)
            err = {"Message": res.error} if res.error else None
            from berth.api.response import encode_json

            await w.write(encode_json({"Error": err, "StatusCode": res.status_code}))

        return StreamResponse(produce)

    async def remove(req: Request) -> Reply:
        await run(service.remove, req.params["id"], req.q_bool("force"), req.q_bool("v"))
        return empty(204)

    async def rename(req: Request) -> Reply:
        new = req.q("name")
        if not new:
            raise errdefs.InvalidArgument("Neither old nor new names may be empty")
        c = service.get(req.params["id"])
        from berth.engine.containers.names import validate_name

        new = validate_name(new)
        old = c.name
        if new == old:
            raise errdefs.InvalidArgument("Renaming a container with the same name as its current name")
        await run(service.store.rename, c, new)
        service.events.publish("container", "rename", c.id, {"name": new, "oldName": "/" + old, "image": c.config.image})
        return empty(204)

    async def resize(req: Request) -> Reply:
        await run(service.resize, req.params["id"], req.q_int("h"), req.q_int("w"))
        return empty(200)

    async def attach(req: Request) -> Reply:
        c = service.get(req.params["id"])
        want_in = req.q_bool("stdin")
        want_out, want_err = req.q_bool("stdout"), req.q_bool("stderr")
        keys = _detach_keys(req.q("detachKeys"))
        fut = service.attach_future(c.id, want_in)
        tty = c.config.tty

        async def handler(stream: HijackedStream) -> None:
            if req.q_bool("logs") and c.log_path:
                records = await run(lambda: list(log_reader.read(c.log_path)))
                # Clients that parse the 101 response with a buffered reader and then read
                # the raw socket (docker-py) lose bytes that arrive with the headers: let
                # the headers go alone before replaying the logs
                await asyncio.sleep(0.05)
                for rec in records:
                    if (rec.stream == "stdout" and want_out) or (rec.stream == "stderr" and want_err):
                        await stream.write(rec.line if tty else frame(1 if rec.stream == "stdout" else 2, rec.line))
            if not req.q_bool("stream", True) and req.q_has("stream"):
                fut.cancel()
                return
            try:
                sock, _, early = await asyncio.wrap_future(fut)
            except (errdefs.BerthError, asyncio.CancelledError, concurrent.futures.CancelledError):
                return
            await _pump(stream, sock, early, tty, want_in and c.config.open_stdin, want_out, want_err, keys)

        ctype = MEDIA_RAW_STREAM if tty else MEDIA_MULTIPLEXED_STREAM
        return Hijack(handler, content_type=ctype)

    async def logs(req: Request) -> Reply:
        c = service.get(req.params["id"])
        want_out, want_err = req.q_bool("stdout"), req.q_bool("stderr")
        if not (want_out or want_err):
            raise errdefs.InvalidArgument("Bad parameters: you must choose at least one stream")
        if c.host_config.log_config.type == "none" or not c.log_path:
            raise errdefs.NotImplemented(
                'configured logging driver does not support reading'
            )
        follow = req.q_bool("follow")
        timestamps = req.q_bool("timestamps")
        tail_s = req.q("tail", "all")
        tail = -1 if tail_s in ("", "all") else int(tail_s) if tail_s.lstrip("-").isdigit() else -1
        since, until = parse_ts(req.q("since")), parse_ts(req.q("until"))
        tty = c.config.tty
        loop = asyncio.get_running_loop()

        async def produce(w: StreamWriter) -> None:
            queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=256)
            stop_flag = [False]

            def stopped() -> bool:
                return stop_flag[0] or not c.state.running or (c.state.restarting and False)

            def work() -> None:
                try:
                    for rec in log_reader.read(
                        c.log_path, tail=tail, since=since, until=until, follow=follow and c.state.running,
                        stop=stopped,
                    ):
                        if stop_flag[0]:
                            return
                        if (rec.stream == "stdout" and not want_out) or (rec.stream == "stderr" and not want_err):
                            continue
                        data = rec.render(timestamps)
                        if not tty:
                            data = frame(1 if rec.stream == "stdout" else 2, data)
                        asyncio.run_coroutine_threadsafe(queue.put(data), loop).result()
                except FileNotFoundError:
                    pass
                finally:
                    asyncio.run_coroutine_threadsafe(queue.put(None), loop).result()

            task = asyncio.ensure_future(asyncio.to_thread(work))
            try:
                while (item := await queue.get()) is not None:
                    await w.write(item)
            finally:
                stop_flag[0] = True
                while not task.done():
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()
                    await asyncio.sleep(0.01)

        ctype = MEDIA_RAW_STREAM if tty else MEDIA_MULTIPLEXED_STREAM
        return StreamResponse(produce, 200, ctype)

    async def prune(req: Request) -> Reply:
        filters = dict(req.filters())
        check_keys(filters, ("label", "label!", "until"))  # moby's containersAcceptedFilters
        for v in filters.get("until", []):
            until_cutoff(v)  # refused before anything is removed
        deleted = []
        reclaimed = 0
        for c in service.list():
            if c.state.running or c.state.restarting or c.state.status == "removing":
                continue
            if not _prune_match(c, filters):
                continue
            reclaimed += (await run(service.sizes, c))[0]
            with contextlib.suppress(errdefs.NotFound, errdefs.Conflict):
                await run(service.remove, c.id, False, False)
                deleted.append(c.id)
        service.events.publish("container", "prune", "", {"reclaimed": str(reclaimed)})
        return json_response({"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed})

    router.add("POST", "/containers/create", create)
    router.add("GET", "/containers/json", list_)
    router.add("POST", "/containers/prune", prune)
    router.add("GET", "/containers/{id}/json", inspect)
    router.add("POST", "/containers/{id}/start", start)
    router.add("POST", "/containers/{id}/stop", stop)
    router.add("POST", "/containers/{id}/restart", restart)
    router.add("POST", "/containers/{id}/kill", kill)
    router.add("POST", "/containers/{id}/wait", wait)
    router.add("DELETE", "/containers/{id}", remove)
    router.add("POST", "/containers/{id}/rename", rename)
    router.add("POST", "/containers/{id}/resize", resize)
    router.add("POST", "/containers/{id}/attach", attach)
    router.add("GET", "/containers/{id}/logs", logs)


def _prune_match(c: Container, filters: dict[str, list[str]]) -> bool:
    for key, values in filters.items():
        if key == "until":
            if parse_time(c.created) >= until_cutoff(values[0]):
                return False
        elif key in ("label", "label!"):
            for v in values:
                k, eq, want = v.partition("=")
                has = k in c.config.labels and (not eq or c.config.labels[k] == want)
                if has != (key == "label"):
                    return False
    return True


def _detach_keys(spec: str) -> bytes:
    if not spec:
        return _DEFAULT_DETACH
    out = bytearray()
    for part in spec.split(","):
        p = part.strip()
        if p.startswith("ctrl-") and len(p) == 6:
            ch = p[5]
            code = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}.get(ch)
            if code is None:
                if not ch.isalpha():
                    raise errdefs.InvalidArgument(f"invalid detach keys: {spec}")
                code = ord(ch.lower()) - ord("a") + 1
            out.append(code)
        elif len(p) == 1:
            out.append(ord(p))
        else:
            raise errdefs.InvalidArgument(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


async def _pump(
    stream: HijackedStream,
    sock: socket.socket,
    early: bytes,
    tty: bool,
    with_stdin: bool,
    want_out: bool,
    want_err: bool,
    keys: bytes,
) -> None:
    """Bytes between the client and the shim's attach connection until the shim closes
    it (the process exited) or the client detaches."""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    filt: Callable[[bytes], bytes]
    if tty or (want_out and want_err):
        filt = lambda b: b  # noqa: E731
    else:
        demux = Demuxer()

        def filt(b: bytes) -> bytes:
            return b"".join(
                frame(s, p) for s, p in demux.feed(b) if (s == 1 and want_out) or (s == 2 and want_err)
            )

    detached = asyncio.Event()

    async def out() -> None:
        if early:
            await stream.write(filt(early))
        while True:
            data = await loop.sock_recv(sock, 65536)
            if not data:
                return
            chunk = filt(data)
            if chunk:
                await stream.write(chunk)

    async def inp() -> None:
        matched = 0
        while True:
            data = await stream.read(65536)
            if not data:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_WR)
                return
            if keys:
                buf = bytearray()
                for b in data:
                    if b == keys[matched]:
                        matched += 1
                        if matched == len(keys):
                            detached.set()
                            return
                        continue
                    if matched:
                        buf += keys[:matched]
                        matched = 0
                    buf.append(b)
                data = bytes(buf)
            if data:
                await loop.sock_sendall(sock, data)

    out_task = asyncio.ensure_future(out())
    in_task = asyncio.ensure_future(inp()) if with_stdin else None
    det_task = asyncio.ensure_future(detached.wait())
    try:
        await asyncio.wait({out_task, det_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (out_task, in_task, det_task):
            if t is not None and not t.done():
                t.cancel()
        sock.close()
    if in_task is not None:
        with contextlib.suppress(BaseException):
            await in_task
