"""``berth load [-i FILE] [-q]`` (cli/command/image/load.go): load images from a tar
archive (FILE or STDIN, which must not be a terminal)."""

from __future__ import annotations

import sys

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "load [OPTIONS]",
    "Load an image from a tar archive or STDIN",
    [
        Flag("input,i", "string", help="Read from tar archive file, instead of STDIN", metavar="string"),
        Flag("quiet,q", help="Suppress the load output"),
    ],
    (0, 0),
    aliases=("berth image load", "berth load"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    path = opts.get("input") or ""
    try:
        if path:
            f: Any = open(path, "rb")  # read by chunks below; closed when the command exits
        else:
            if sys.stdin.isatty():
                raise CliError(
                    "requested load from stdin, but stdin is empty"
                )
            f = sys.stdin.buffer
    except OSError as exc:
        raise CliError(f"open {path}: {exc.strerror}") from None
    data = chunks(f)
    try:
        for msg in cli.client.image_load(data, quiet=bool(opts.get("quiet"))):
            if msg.get("error"):
                raise CliError(str(msg.get("errorDetail", {}).get("message") or msg["error"]))
            line = msg.get("stream")
            if line:
                cli.out.write(str(line))
        cli.out.flush()
    except BerthError as exc:
        raise cli.error(exc) from None
    return 0


def chunks(f: Any, size: int = 1 << 20) -> Iterator[bytes]:
    """The file's bytes a chunk at a time: the archive is streamed to the daemon, never
    held whole in memory."""
    while chunk := f.read(size):
        yield chunk
