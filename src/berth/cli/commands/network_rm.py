"""``berth network rm [-f] NETWORK [NETWORK...]`` (cli/command/network/remove.go): prints
each network removed; a failure is printed on stderr as it happens and the status is 1.
``-f`` passes over networks that do not exist."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.errdefs import BerthError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.cli.context import Cli

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "rm NETWORK [NETWORK...]",
    "Remove one or more networks",
    [Flag("force,f", help="Do not error if the network does not exist")],
    (1, None),
    aliases=("berth network rm", "berth network remove"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    status = 0
    for name in args:
        try:
            cli.client.network_remove(name)
        except NotFound as exc:
            if opts["force"]:
                continue
            cli.err.write(f"{cli.error(exc).args[0]}\n")
            status = 1
            continue
        except BerthError as exc:
            cli.err.write(f"{cli.error(exc).args[0]}\n")
            status = 1
            continue
        cli.out.write(f"{name}\n")
    return status
