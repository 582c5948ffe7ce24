"""``berth pause CONTAINER...`` (cli/command/container/pause.go): the cgroup freezer, one
request per container."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.context import Cli

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "pause CONTAINER [CONTAINER...]",
    "Pause all processes within one or more containers",
    [],
    (1, None),
    aliases=("berth container pause", "berth pause"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._simple import post_each

    return post_each(cli, args, "pause")
