"""``berth volume inspect [-f FORMAT] VOLUME [VOLUME...]``: the daemon's JSON as a list,
or each volume through a template (cli/command/volume/inspect.go)."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.commands._formatflag import FORMAT_FLAG
from berth.cli.context import Cli, CliError
from berth.errdefs import NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "inspect [OPTIONS] VOLUME [VOLUME...]",
    "Display detailed information on one or more volumes",
    [FORMAT_FLAG],
    (1, None),
    aliases=("berth volume inspect",),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands.container_inspect import print_inspected

    def get(name: str) -> Any:
        try:
            return cli.client.get_json(f"/volumes/{name}")
        except NotFound:
            raise CliError(f"Error: No such volume: {name}") from None

    fmt = opts["format"]
    return print_inspected(cli, args, "" if fmt == "json" else fmt, get)
