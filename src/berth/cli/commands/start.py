"""``berth start [OPTIONS] CONTAINER [CONTAINER...]`` (moby ``cli/command/container/
start.go``).

Without ``-a``/``-i`` each container is started in turn and its name printed as given; a
failure prints the daemon's error and the command ends with ``Error: failed to start
containers: a, b`` (exit 1). With ``-a``/``-i`` (one container only) the CLI inspects it,
attaches (stdin only if the container has ``OpenStdin``), registers ``wait``, starts it
and streams until it exits; the status is the container's.
"""

from __future__ import annotations

import sys

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "start [OPTIONS] CONTAINER [CONTAINER...]",
    "Start one or more stopped containers",
    [
        Flag("attach,a", help="Attach STDOUT/STDERR and forward signals"),
        Flag("detach-keys", "string", help="Override the key sequence for detaching a container", metavar="string"),
        Flag("interactive,i", help="Attach container's STDIN"),
    ],
    (1, None),
    aliases=("berth container start", "berth start"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    if opts["attach"] or opts["interactive"]:
        if len(args) > 1:
            raise CliError("you cannot start and attach multiple containers at once", 1)
        return _start_attached(cli, opts, args[0])
    failed = []
    for name in args:
        try:
            cli.client.container_start(name)
        except BerthError as exc:
            cli.err.write(cli.error(exc).args[0] + "\n")
            failed.append(name)
            continue
        cli.out.write(name + "\n")
        cli.out.flush()
    if failed:
        raise CliError(f"Error: failed to start containers: {', '.join(failed)}", 1)
    return 0


def _start_attached(cli: Cli, opts: dict[str, Any], name: str) -> int:
    from berth.cli.commands._create import stderr_bytes, stdout_bytes
    from berth.cli.commands._streams import StreamError, session

    client = cli.client
    try:
        c = client.container_inspect(name)
        cid = str(c["Id"])
        config = c.get("Config") or {}
        tty = bool(config.get("Tty"))
        stdin = bool(opts["interactive"]) and bool(config.get("OpenStdin"))
        if stdin and tty and not sys.stdin.isatty():
            raise CliError("the input device is not a TTY", 1)
        keys = opts.get("detach_keys") or ""
        conn = client.container_attach(cid, stdin, True, True, keys)
        waiter = client.side()
        auto_remove = bool((c.get("HostConfig") or {}).get("AutoRemove"))
        wait_resp = waiter.container_wait_begin(cid, "removed" if auto_remove else "next-exit")
        try:
            client.container_start(cid)
        except BerthError:
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
                resize=lambda h, w: client.container_resize(cid, h, w),
                kill=(lambda sig: client.container_kill(cid, sig)),
            )
        except StreamError as exc:
            raise CliError(str(exc), 1) from None
        if detached:
            return 0
        status, message = waiter.wait_result(wait_resp)
        waiter.close()
    except BerthError as exc:
        raise cli.error(exc) from None
    if message:
        raise CliError(f"Error response from daemon: {message}", 1)
    return status
