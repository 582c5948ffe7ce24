"""Exec routes: ``POST /containers/{id}/exec``, ``POST /exec/{id}/start``, ``GET
/exec/{id}/json``, ``POST /exec/{id}/resize`` (dockerd 20.10 at API 1.41; traces
``exec.txt``, ``exec_it.txt``).

Start without ``Detach`` hijacks the connection (as attach does): the exec's output
flows to the client — raw bytes with a terminal, else multiplexed frames — and, with
``AttachStdin``, the client's bytes to the process (a half-close ends its stdin) until
the process exits or the client types the detach keys. Below API 1.42 the upgraded
stream says ``application/vnd.docker.raw-stream`` even when it carries frames (moby
``postContainerExecStart``). When the runtime refuses to start the process, dockerd
writes its error into the stream (``OCI runtime exec failed: …: unknown``, then CRLF;
a stdout frame without a terminal) and the exec's ExitCode tells 126 from 127.

The stream ends only once the exit code is recorded, so a client inspecting the exec
right after (the docker CLI, ``exec_run``) reads it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import Any

from berth import errdefs
from berth.api.containers import _detach_keys, _pump
from berth.api.request import Request
from berth.api.response import Hijack, HijackedStream, Reply, empty, json_response
from berth.api.router import Router
from berth.api.stdcopy import frame
from berth.api.wire import MEDIA_MULTIPLEXED_STREAM, MEDIA_RAW_STREAM, version_less
from berth.engine.containers.exec import Exec, ExecOptions, ExecService, ExecStartError

__all__ = ["exec_options_from_wire", "inspect_wire", "register"]

_EXIT_GRACE = 10.0  # seconds a finished stream waits for the monitor to record the exit


def _str_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errdefs.InvalidArgument(f"invalid {name}: must be a list of strings")
    return list(value)


def _keys(spec: str) -> bytes:
    try:
        return _detach_keys(spec) if spec else b""
    except errdefs.InvalidArgument:
        raise errdefs.InvalidArgument(f"Invalid escape keys ({spec}) provided") from None


def _console_size(value: Any) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, int) and v >= 0 for v in value):
        raise errdefs.InvalidArgument("invalid ConsoleSize: must be [height, width]")
    return list(value)


def exec_options_from_wire(body: Any) -> ExecOptions:
    """Docker's ExecConfig (``POST /containers/{id}/exec``) as :class:`ExecOptions`."""
    if not isinstance(body, dict):
        body = {}
    keys = str(body.get("DetachKeys") or "")
    _keys(keys)
    return ExecOptions(
        cmd=_str_list(body.get("Cmd"), "Cmd"),
        env=_str_list(body.get("Env"), "Env"),
        user=str(body.get("User") or ""),
        working_dir=str(body.get("WorkingDir") or ""),
        tty=bool(body.get("Tty")),
        privileged=bool(body.get("Privileged")),
        attach_stdin=bool(body.get("AttachStdin")),
        attach_stdout=bool(body.get("AttachStdout")),
        attach_stderr=bool(body.get("AttachStderr")),
        detach_keys=keys,
        console_size=_console_size(body.get("ConsoleSize")),
    )


def inspect_wire(ex: Exec) -> dict[str, Any]:
    """Docker's ExecInspect. ``DetachKeys`` is a Go ``[]byte``, hence base64."""
    pc: dict[str, Any] = {
        "tty": ex.tty,
        "entrypoint": ex.entrypoint,
        "arguments": list(ex.args),
        "privileged": ex.privileged,
    }
    if ex.user:
        pc["user"] = ex.user
    return {
        "ID": ex.id,
        "Running": ex.running,
        "ExitCode": ex.exit_code,
        "ProcessConfig": pc,
        "OpenStdin": ex.open_stdin,
        "OpenStderr": ex.open_stderr,
        "OpenStdout": ex.open_stdout,
        "CanRemove": ex.can_remove,
        "ContainerID": ex.container_id,
        "DetachKeys": base64.b64encode(_keys(ex.detach_keys)).decode(),
        "Pid": ex.pid,
    }


def register(router: Router, service: ExecService) -> None:
    run = asyncio.to_thread

    async def create(req: Request) -> Reply:
        opts = exec_options_from_wire(await req.json())
        ex = await run(service.create, req.params["id"], opts)
        return json_response({"Id": ex.id}, 201)

    async def start(req: Request) -> Reply:
        body = await req.json()
        if not isinstance(body, dict):
            body = {}
        size = _console_size(body.get("ConsoleSize"))
        ex = service.check_startable(req.params["id"])
        if body.get("Detach"):
            await run(service.start, ex.id, size, False)
            return empty(200)
        keys = _detach_keys(ex.detach_keys)
        tty = ex.tty

        async def handler(stream: HijackedStream) -> None:
            try:
                streams = await run(service.start, ex.id, size, True)
            except ExecStartError as exc:
                msg = exc.message.encode() + b"\r\n"
                await stream.write(msg if tty else frame(1, msg))
                return
            except errdefs.BerthError as exc:
                msg = exc.message.encode() + b"\r\n"
                with contextlib.suppress(ConnectionError):
                    await stream.write(msg if tty else frame(1, msg))
                return
            if streams is None:
                return
            sock, _, early = streams
            await _pump(stream, sock, early, tty, ex.open_stdin, ex.open_stdout, ex.open_stderr, keys)
            if ex.exit_code is None and ex.running:
                await run(service.wait_exit, ex.id, _EXIT_GRACE)

        multiplexed = not tty and not version_less(req.api_version, "1.42")
        return Hijack(handler, content_type=MEDIA_MULTIPLEXED_STREAM if multiplexed else MEDIA_RAW_STREAM)

    async def inspect(req: Request) -> Reply:
        return json_response(inspect_wire(service.get(req.params["id"])))

    async def resize(req: Request) -> Reply:
        await run(service.resize, req.params["id"], req.q_int("h"), req.q_int("w"))
        return empty(200)

    router.add("POST", "/containers/{id}/exec", create)
    router.add("POST", "/exec/{id}/start", start)
    router.add("GET", "/exec/{id}/json", inspect)
    router.add("POST", "/exec/{id}/resize", resize)
