"""``berth network disconnect [-f] NETWORK CONTAINER`` (cli/command/network/disconnect.go)."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.cli.context import Cli

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "disconnect [OPTIONS] NETWORK CONTAINER",
    "Disconnect a container from a network",
    [Flag("force,f", help="Force the container to disconnect from a network")],
    (2, 2),
    aliases=("berth network disconnect",),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    try:
        cli.client.network_disconnect(args[0], args[1], opts["force"])
    except BerthError as exc:
        raise cli.error(exc) from None
    return 0
