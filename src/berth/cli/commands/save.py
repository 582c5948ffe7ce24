"""``berth save [-o FILE] IMAGE...`` (cli/command/image/save.go): the images as one tar,
to FILE or to STDOUT, which must not be a terminal."""

from __future__ import annotations

import os
import sys

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "save [OPTIONS] IMAGE [IMAGE...]",
    "Save one or more images to a tar archive (streamed to STDOUT by default)",
    [Flag("output,o", "string", help="Write to a file, instead of STDOUT", metavar="string")],
    (1, None),
    aliases=("berth image save", "berth save"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    path = opts.get("output") or ""
    if not path:
        out = getattr(cli.out, "buffer", None) or sys.stdout.buffer
        isatty = getattr(cli.out, "isatty", None)
        if isatty is not None and isatty():
            raise CliError(
                "cowardly refusing to save to a terminal. Use the -o flag or redirect"
            )
        try:
            for chunk in cli.client.image_save(args):
                out.write(chunk)
            out.flush()
        except BerthError as exc:
            raise cli.error(exc) from None
        return 0
    tmp = f"{path}.berth-save-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            for chunk in cli.client.image_save(args):
                f.write(chunk)
        os.replace(tmp, path)
    except BerthError as exc:
        raise cli.error(exc) from None
    except OSError as exc:
        raise CliError(f"failed to save image: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return 0
