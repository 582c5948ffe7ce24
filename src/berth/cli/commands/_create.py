"""Creating a container as ``docker create`` and ``docker run`` do (moby
``cli/command/container/create.go`` ``createContainer``): refuse an existing
``--cidfile``, pull first with ``--pull always``, create, and on a 404 with the default
``--pull missing`` say ``Unable to find image 'X' locally`` on stderr, pull (progress on
stderr, so stdout carries only the id) and create again; print the daemon's warnings,
write the cidfile.
"""

from __future__ import annotations

import os

from berth.cli.commands._container_opts import (
    CONTAINER_FLAGS,
    CreateRequest,
    FlagValueError,
    OptsError,
    build,
    go_json,
)
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CONTAINER_FLAGS", "PullError", "create_container", "request_from", "status_error", "stderr_bytes", "stdout_bytes"]


class PullError(Exception):
    """The pull before a create failed; ``message`` is what the daemon said."""

    def __init__(self, message: str, from_daemon: bool) -> None:
        super().__init__(message)
        self.message = message
        self.from_daemon = from_daemon


def request_from(cli: Cli, opts: dict[str, Any], args: list[str], command: str) -> CreateRequest:
    """Build the request, turning option errors into docker's messages (exit 125)."""
    from berth.cli.commands._streams import terminal_size

    try:
        fileno = cli.out.fileno()
    except (AttributeError, OSError, ValueError):
        fileno = -1
    size = terminal_size(fileno) if fileno >= 0 else (0, 0)
    try:
        return build(opts, args, size)
    except FlagValueError as exc:
        use = f"berth {command} [OPTIONS] IMAGE" + (" [COMMAND] [ARG...]" if command in ("run", "create") else "")
        raise CliError(f"{exc}\n\nUsage:  {use}\n\nRun 'berth {command} --help' for more information", 125) from None
    except OptsError as exc:
        raise status_error(str(exc), command) from None


def status_error(message: str, command: str) -> CliError:
    """moby ``toStatusError``: ``berth: <message>`` and a pointer to ``--help``; exit 127
    when the message says the executable was not found, 126 when it could not be run
    (permission denied, is a directory), else 125."""
    status = 125
    if any(s in message for s in ("executable file not found", "no such file or directory", "system cannot find the file specified")):
        status = 127
    elif "permission denied" in message or "is a directory" in message:
        status = 126
    return CliError(f"berth: {message}\n\nRun 'berth {command} --help' for more information", status)


def daemon_message(exc: BerthError | PullError) -> str:
    """``Error response from daemon: …`` when the daemon said it, the message alone else."""
    if getattr(exc, "from_daemon", False):
        return f"Error response from daemon: {exc.message}"
    return exc.message


def _pull(cli: Cli, image: str, quiet: bool) -> None:
    from berth.cli.commands._registryauth import registry_auth
    from berth.cli.commands.pull import Display
    from berth.oci.reference import parse_docker_ref

    ref = parse_docker_ref(image)
    err = cli.err
    isatty = getattr(err, "isatty", None)
    display = Display(err, bool(isatty and isatty()))
    tag = ref.tag
    try:
        for msg in cli.client.image_pull(str(ref.name_only()) if tag else str(ref), tag, registry_auth(ref.domain)):
            if msg.get("error"):
                display.end()
                raise PullError(str(msg.get("errorDetail", {}).get("message") or msg["error"]), False)
            if not quiet:
                display.show(msg)
    except BerthError as exc:
        raise PullError(exc.message, bool(getattr(exc, "from_daemon", False))) from None
    display.end()


def _familiar(image: str) -> str:
    from berth.oci.reference import parse_docker_ref

    try:
        ref = parse_docker_ref(image)
    except BerthError:
        return image
    return ref.familiar_string()


def create_container(cli: Cli, req: CreateRequest, pull: str = "missing", quiet: bool = False) -> str:
    """The new container's id. Daemon errors propagate as :class:`BerthError`, pull
    failures as :class:`PullError`, local ones (cidfile) as :class:`CliError`."""
    cidfile = req.body["HostConfig"].get("ContainerIDFile") or ""
    if cidfile and os.path.exists(cidfile):
        raise CliError(f"container ID file found, make sure the other container isn't running or delete {cidfile}", 125)
    if pull == "always":
        _pull(cli, req.image, quiet)
    body = go_json(req.body)
    try:
        resp = cli.client.container_create(body, req.name, req.platform)
    except NotFound:
        if pull != "missing":
            raise
        cli.err.write(f"Unable to find image '{_familiar(req.image)}' locally\n")
        cli.err.flush()
        _pull(cli, req.image, quiet)
        resp = cli.client.container_create(body, req.name, req.platform)
    for warning in resp.get("Warnings") or []:
        cli.err.write(f"WARNING: {warning}\n")
    cid = str(resp["Id"])
    if cidfile:
        try:
            with open(cidfile, "w", encoding="utf-8") as f:
                f.write(cid)
        except OSError as exc:
            raise CliError(f"failed to create the container ID file: open {cidfile}: {(exc.strerror or '').lower()}", 125) from None
    return cid


def stdout_bytes(cli: Cli) -> Any:
    """The binary stream behind ``cli.out`` (container output is bytes)."""
    out = cli.out
    buf = getattr(out, "buffer", None)
    if buf is not None:
        out.flush()
        return buf
    return out


def stderr_bytes(cli: Cli) -> Any:
    err = cli.err
    buf = getattr(err, "buffer", None)
    if buf is not None:
        err.flush()
        return buf
    return err
