"""``berth import [-c CHANGE]... [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]``
(cli/command/image/import.go): a rootfs tarball into a one-layer image; prints its id."""

from __future__ import annotations

import sys

from berth.cli.args import Command, Flag
from berth.cli.commands.load import chunks
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    "Import the contents from a tarball to create a filesystem image",
    [
        Flag("change,c", "list", help="Apply Dockerfile instruction to the created image", metavar="list"),
        Flag("message,m", "string", help="Set commit message for imported image", metavar="string"),
        Flag("platform", "string", help="Set platform if server is multi-platform capable", hidden=True),
    ],
    (1, 2),
    aliases=("berth image import", "berth import"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.oci.reference import parse_normalized_named

    source = args[0]
    repo = tag = ""
    if len(args) == 2:
        try:
            ref = parse_normalized_named(args[1])
        except BerthError as exc:
            raise CliError(exc.message) from None
        repo, tag = str(ref.name_only()), ref.tag or ""
    try:
        if source == "-":
            data = chunks(sys.stdin.buffer)
        elif "://" in source:
            raise CliError("import from a URL is not supported")
        else:
            data = chunks(open(source, "rb"))  # streamed; closed when the command exits
    except OSError as exc:
        raise CliError(f"open {source}: {exc.strerror}") from None
    try:
        for msg in cli.client.image_import(data, repo, tag, list(opts.get("change") or []), opts.get("message") or ""):
            if msg.get("error"):
                raise CliError(str(msg.get("errorDetail", {}).get("message") or msg["error"]))
            if msg.get("status"):
                cli.out.write(str(msg["status"]) + "\n")
        cli.out.flush()
    except BerthError as exc:
        raise cli.error(exc) from None
    return 0
