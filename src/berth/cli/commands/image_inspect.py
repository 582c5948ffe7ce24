"""``berth image inspect [-f FORMAT] IMAGE [IMAGE...]``: the daemon's JSON as a list, or
each image through a template (cli/command/image/inspect.go)."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.commands._formatflag import FORMAT_FLAG
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "inspect [OPTIONS] IMAGE [IMAGE...]",
    "Display detailed information on one or more images",
    [FORMAT_FLAG],
    (1, None),
    aliases=("berth image inspect",),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    found: list[dict[str, Any]] = []
    errors: list[str] = []
    for name in args:
        try:
            found.append(cli.client.image_inspect(name))
        except NotFound:
            errors.append(f"Error: No such image: {name}")
        except BerthError as exc:
            raise cli.error(exc) from None
    if opts["format"]:
        from berth.cli.format import FormatError, Template

        try:
            t = Template(opts["format"])
            for doc in found:
                cli.out.write(t.execute(doc) + "\n")
        except FormatError as exc:
            raise CliError(str(exc), exc.status) from None
    else:
        import json

        cli.out.write(json.dumps(found, indent=4) + "\n")
    if errors:
        raise CliError("\n".join(errors))
    return 0
