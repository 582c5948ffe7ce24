"""``berth attach [OPTIONS] CONTAINER`` (moby ``cli/command/container/attach.go``).

As in trace ``attach.txt``: ``wait`` (no condition) is registered first on its own
connection, the container is inspected (it must be running, not paused or restarting),
attached (stdin only if the container has ``OpenStdin`` and ``--no-stdin`` is not
given), inspected again (it may have stopped meanwhile), then the streams are pumped;
the exit status is the container's. Typing the detach keys ends the session with
``read escape sequence`` (exit 1), the container keeps running.
"""

from __future__ import annotations

import sys

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.client.api import Client

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "attach [OPTIONS] CONTAINER",
    "Attach local standard input, output, and error streams to a running container",
    [
        Flag("detach-keys", "string", help="Override the key sequence for detaching a container", metavar="string"),
        Flag("no-stdin", help="Do not attach STDIN"),
        Flag("sig-proxy", default=True, help="Proxy all received signals to the process"),
    ],
    (1, 1),
    aliases=("berth container attach", "berth attach"),
)


def _check_state(client: Client, name: str) -> dict[str, Any]:
    c = client.container_inspect(name)
    state = c.get("State") or {}
    if not state.get("Running"):
        raise CliError("You cannot attach to a stopped container, start it first", 1)
    if state.get("Paused"):
        raise CliError("You cannot attach to a paused container, unpause it first", 1)
    if state.get("Restarting"):
        raise CliError("You cannot attach to a restarting container, wait until it is running", 1)
    return c


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._create import stderr_bytes, stdout_bytes
    from berth.cli.commands._streams import StreamError, session

    name = args[0]
    client = cli.client
    try:
        waiter = client.side()
        wait_resp = waiter.container_wait_begin(name)
        c = _check_state(client, name)
        config = c.get("Config") or {}
        tty = bool(config.get("Tty"))
        if not opts["no_stdin"] and tty and not sys.stdin.isatty():
            raise CliError("the input device is not a TTY", 1)
        stdin = not opts["no_stdin"] and bool(config.get("OpenStdin"))
        keys = opts.get("detach_keys") or ""
        conn = client.container_attach(name, stdin, True, True, keys)
        try:
            _check_state(client, name)
        except BaseException:
            conn.close()
            raise
        try:
            detached = session(
                conn,
                tty=tty,
                stdin=sys.stdin if stdin else None,
                out=stdout_bytes(cli),
                err=stderr_bytes(cli),
                detach_keys=keys,
                resize=lambda h, w: client.container_resize(name, h, w),
                kill=(lambda sig: client.container_kill(name, sig)) if opts["sig_proxy"] else None,
            )
        except StreamError as exc:
            raise CliError(str(exc), 1) from None
        if detached:
            raise CliError("read escape sequence", 1)
        status, message = waiter.wait_result(wait_resp)
        waiter.close()
    except BerthError as exc:
        raise cli.error(exc) from None
    if message:
        raise CliError(message, 1)
    return status
