"""``berth exec [OPTIONS] CONTAINER COMMAND [ARG...]`` (moby ``cli/command/container/
exec.go``).

As in traces ``exec.txt`` and ``exec_it.txt``: inspect the container (so "no such
container" wins), ``POST /containers/{name}/exec`` with the process, then either
``POST /exec/{id}/start`` with ``Detach`` (``-d``) or the same request hijacked, the
streams pumped (raw with ``-t``, multiplexed otherwise) and the exit code read from
``GET /exec/{id}/json``. The daemon reports a command it cannot find or run as exit code
127 or 126, which is passed on.
"""

from __future__ import annotations

import sys

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "exec_body", "run"]

COMMAND = Command(
    "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
    "Execute a command in a running container",
    [
        Flag("detach,d", help="Detached mode: run command in the background"),
        Flag("detach-keys", "string", help="Override the key sequence for detaching a container", metavar="string"),
        Flag("env,e", "list", help="Set environment variables", metavar="list"),
        Flag("env-file", "list", help="Read in a file of environment variables", metavar="list"),
        Flag("interactive,i", help="Keep STDIN open even if not attached"),
        Flag("privileged", help="Give extended privileges to the command"),
        Flag("tty,t", help="Allocate a pseudo-TTY"),
        Flag("user,u", "string", help="Username or UID (format: \"<name|uid>[:<group|gid>]\")", metavar="string"),
        Flag("workdir,w", "string", help="Working directory inside the container", metavar="string"),
    ],
    (2, None),
    interspersed=False,
    aliases=("berth container exec", "berth exec"),
)


def exec_body(opts: dict[str, Any], cmd: list[str]) -> dict[str, Any]:
    """The ``POST /containers/{name}/exec`` body, fields in the docker CLI's order."""
    import os

    from berth.cli.commands._container_opts import parse_env_file

    env: list[str] = []
    for path in opts.get("env_file") or []:
        env += parse_env_file(path)
    for e in opts.get("env") or []:
        key, eq, _ = e.partition("=")
        env.append(f"{key}={os.environ[key]}" if not eq and key in os.environ else e)
    detach = bool(opts.get("detach"))
    return {
        "User": opts.get("user") or "",
        "Privileged": bool(opts.get("privileged")),
        "Tty": bool(opts.get("tty")),
        "AttachStdin": not detach and bool(opts.get("interactive")),
        "AttachStderr": not detach,
        "AttachStdout": not detach,
        "Detach": False,
        "DetachKeys": opts.get("detach_keys") or "",
        "Env": env or None,
        "WorkingDir": opts.get("workdir") or "",
        "Cmd": cmd,
    }


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._container_opts import OptsError
    from berth.cli.commands._create import stderr_bytes, stdout_bytes
    from berth.cli.commands._streams import StreamError, session

    name, cmd = args[0], args[1:]
    try:
        body = exec_body(opts, cmd)
    except OptsError as exc:
        raise CliError(str(exc), 1) from None
    client = cli.client
    tty = body["Tty"]
    try:
        client.container_inspect(name)
        if not opts["detach"] and body["AttachStdin"] and tty and not sys.stdin.isatty():
            raise CliError("the input device is not a TTY", 1)
        exec_id = client.exec_create(name, body)
        if not exec_id:
            raise CliError("exec ID empty", 1)
        if opts["detach"]:
            client.exec_start_detached(exec_id, tty)
            return 0
        conn = client.exec_attach(exec_id, tty)
        try:
            detached = session(
                conn,
                tty=tty,
                stdin=sys.stdin if body["AttachStdin"] else None,
                out=stdout_bytes(cli),
                err=stdout_bytes(cli) if tty else stderr_bytes(cli),
                detach_keys=body["DetachKeys"],
                resize=lambda h, w: client.exec_resize(exec_id, h, w),
            )
        except StreamError as exc:
            raise CliError(str(exc), 1) from None
        if detached:
            raise CliError("read escape sequence", 1)
        doc = client.exec_inspect(exec_id)
    except BerthError as exc:
        raise cli.error(exc) from None
    return int(doc.get("ExitCode") or 0)
