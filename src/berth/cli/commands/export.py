"""``berth export [-o FILE] CONTAINER`` (cli/command/container/export.go): the container's
filesystem as a tar, to a file (written beside it, then renamed) or to a stdout that is
not a terminal."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "export [OPTIONS] CONTAINER",
    "Export a container's filesystem as a tar archive",
    [Flag("output,o", "string", help="Write to a file, instead of STDOUT")],
    (1, 1),
    aliases=("berth container export", "berth export"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    import os
    import sys

    path = opts["output"]
    if not path:
        isatty = getattr(cli.out, "isatty", None)
        if isatty is not None and isatty():
            raise CliError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        out = getattr(cli.out, "buffer", None) or sys.stdout.buffer
        try:
            for chunk in cli.client.request("GET", f"/containers/{args[0]}/export").iter_body():
                out.write(chunk)
            out.flush()
        except BerthError as exc:
            raise cli.error(exc) from None
        return 0
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CliError(
            f"failed to export container: invalid output path: directory {parent!r} does not exist"
        )
    tmp = f"{path}.berth-export-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            for chunk in cli.client.request("GET", f"/containers/{args[0]}/export").iter_body():
                f.write(chunk)
        os.replace(tmp, path)
    except BerthError as exc:
        raise cli.error(exc) from None
    except OSError as exc:
        raise CliError(f"failed to export container: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return 0
