"""``berth network inspect [-f FORMAT] [-v] NETWORK [NETWORK...]``: the daemon's JSON as
a list, or each network through a template (cli/command/network/inspect.go); a network
that is not found is reported as the daemon words it, after the others are printed."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.commands._formatflag import FORMAT_FLAG

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.cli.context import Cli

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "inspect [OPTIONS] NETWORK [NETWORK...]",
    "Display detailed information on one or more networks",
    [FORMAT_FLAG, Flag("verbose,v", help="Verbose output for diagnostics")],
    (1, None),
    aliases=("berth network inspect",),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands.container_inspect import print_inspected

    fmt = opts["format"]
    return print_inspected(
        cli,
        args,
        "" if fmt == "json" else fmt,
        lambda ref: cli.client.network_inspect(ref, opts["verbose"]),
    )
