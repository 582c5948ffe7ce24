"""``berth network prune [-f] [--filter …]``: remove the user-defined networks no container
uses (cli/command/network/prune.go); ``until`` and ``label``/``label!`` filters narrow it."""

from __future__ import annotations

import sys

from berth.cli.args import Command, Flag
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.cli.context import Cli

__all__ = ["COMMAND", "WARNING", "run"]

COMMAND = Command(
    "prune [OPTIONS]",
    "Remove all unused networks",
    [
        Flag(
            "filter",
            "list",
            help="Provide filter values (e.g. 'until=<timestamp>')",
            metavar="filter",
        ),
        Flag("force,f", help="Do not prompt for confirmation"),
    ],
    (0, 0),
    aliases=("berth network prune",),
)

WARNING = "WARNING! This will remove all custom networks not used by at least one container."


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.api.filters import encode
    from berth.cli.commands.volume_ls import parse_filters

    filters = encode(parse_filters(opts["filter"], "--filter"))
    if not opts["force"]:
        cli.out.write(WARNING + "\nAre you sure you want to continue? [y/N] ")
        cli.out.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    try:
        names = cli.client.network_prune(filters)
    except BerthError as exc:
        raise cli.error(exc) from None
    if names:
        # the docker CLI prints its report with Println: a blank line ends it
        cli.out.write("Deleted Networks:\n" + "".join(f"{n}\n" for n in names) + "\n")
    return 0
