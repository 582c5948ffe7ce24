"""``berth kill [-s SIGNAL] CONTAINER...`` (cli/command/container/kill.go): SIGKILL unless
``-s`` names another signal (sent as ``signal``, the daemon's default when absent)."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "kill [OPTIONS] CONTAINER [CONTAINER...]",
    "Kill one or more running containers",
    [Flag("signal,s", "string", help="Signal to send to the container")],
    (1, None),
    aliases=("berth container kill", "berth kill"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._simple import post_each

    return post_each(cli, args, "kill", {"signal": opts["signal"]} if opts["signal"] else None)
