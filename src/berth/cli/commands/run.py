"""``berth run [OPTIONS] IMAGE [COMMAND] [ARG...]`` (moby ``cli/command/container/run.go``).

The sequence is docker's (README §2.1, traces ``run_d_opts``, ``run_fg_rm``,
``run_it_rm``, ``run_missing_image``): create (pulling on a 404), attach (hijacked,
**before** start so that no output is lost), register ``wait`` on its own connection
(``condition=next-exit``, or ``removed`` with ``--rm``), start, then pump the streams;
the exit status is the container's. ``-d`` prints the id and returns once started.

Exit status: 125 when the daemon refuses to create or start (127 and 126 when the start
error says the executable was not found or could not be run), else the container's.
"""

from __future__ import annotations

import sys

from berth.cli.args import Command
from berth.cli.commands._container_opts import CONTAINER_FLAGS
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.client.api import Client
    from berth.client.transport import Hijacked, Response

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
    "Create and run a new container from an image",
    CONTAINER_FLAGS,
    (1, None),
    interspersed=False,
    aliases=("berth container run", "berth run"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._create import (
        PullError,
        create_container,
        daemon_message,
        request_from,
        status_error,
    )

    req = request_from(cli, opts, args, "run")
    config = req.body
    detach = bool(opts.get("detach"))
    tty = bool(config["Tty"])
    stdin = bool(config["AttachStdin"])
    if not detach and tty and stdin and not sys.stdin.isatty():
        raise CliError("the input device is not a TTY", 1)
    try:
        cid = create_container(cli, req, opts.get("pull") or "missing", bool(opts.get("quiet")))
    except (BerthError, PullError) as exc:
        raise status_error(daemon_message(exc), "run") from None
    client = cli.client
    attached = stdin or config["AttachStdout"] or config["AttachStderr"]
    if not config["AttachStdout"] and not config["AttachStderr"]:
        cli.out.write(cid + "\n")
        cli.out.flush()
    conn: Hijacked | None = None
    try:
        if attached:
            conn = client.container_attach(
                cid, stdin, bool(config["AttachStdout"]), bool(config["AttachStderr"]), opts.get("detach_keys") or ""
            )
        waiter = client.side()
        wait_resp = waiter.container_wait_begin(cid, "removed" if opts.get("rm") else "next-exit")
    except BerthError as exc:
        if conn is not None:
            conn.close()
        raise status_error(daemon_message(exc), "run") from None
    try:
        return _start_and_stream(cli, client, cid, opts, conn, waiter, wait_resp, tty, stdin)
    finally:
        waiter.close()


def _start_and_stream(
    cli: Cli,
    client: Client,
    cid: str,
    opts: dict[str, Any],
    conn: Hijacked | None,
    waiter: Client,
    wait_resp: Response,
    tty: bool,
    stdin: bool,
) -> int:
    from berth.cli.commands._create import daemon_message, status_error, stderr_bytes, stdout_bytes
    from berth.cli.commands._streams import StreamError, session

    try:
        client.container_start(cid)
    except BerthError as exc:
        if conn is not None:
            conn.close()
        if opts.get("rm"):
            try:
                waiter.wait_result(wait_resp)
            except BerthError:
                pass
        raise status_error(daemon_message(exc), "run") from None
    if conn is None:
        return 0
    kill = None
    if opts.get("sig_proxy", True):
        kill = lambda sig: client.container_kill(cid, sig)  # noqa: E731
    try:
        detached = session(
            conn,
            tty=tty,
            stdin=sys.stdin if stdin else None,
            out=stdout_bytes(cli),
            err=stderr_bytes(cli),
            detach_keys=opts.get("detach_keys") or "",
            resize=lambda h, w: client.container_resize(cid, h, w),
            kill=kill,
        )
    except StreamError as exc:
        raise CliError(str(exc), 1) from None
    if detached:
        return 0
    try:
        status, message = waiter.wait_result(wait_resp)
    except BerthError as exc:
        raise CliError(f"Error waiting for container: {exc.message}", 125) from None
    if message:
        raise CliError(f"Error waiting for container: {message}", 125)
    return status
