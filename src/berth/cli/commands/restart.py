"""``berth restart [-s SIGNAL] [-t SECONDS] CONTAINER...`` (cli/command/container/restart.go):
the query of ``stop``."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "restart [OPTIONS] CONTAINER [CONTAINER...]",
    "Restart one or more containers",
    [
        Flag("signal,s", "string", help="Signal to send to the container"),
        Flag(
            "time,t", "string", help="Seconds to wait before killing the container", metavar="int"
        ),
    ],
    (1, None),
    aliases=("berth container restart", "berth restart"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._simple import post_each
    from berth.cli.commands.stop import stop_query

    query = stop_query(opts["signal"], opts["time"], cli.client.api_version)
    return post_each(cli, args, "restart", query)
