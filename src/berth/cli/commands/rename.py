"""``berth rename CONTAINER NEW_NAME`` (cli/command/container/rename.go)."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "rename CONTAINER NEW_NAME",
    "Rename a container",
    [],
    (2, 2),
    aliases=("berth container rename", "berth rename"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    old, new = (a.strip() for a in args)
    if not old or not new:
        raise CliError("Error: Neither old nor new names may be empty")
    try:
        cli.client.request("POST", f"/containers/{old}/rename", {"name": new}).read()
    except BerthError as exc:
        cli.err.write(str(cli.error(exc).args[0]) + "\n")
        raise CliError(f"Error: failed to rename container named {old}") from None
    return 0
