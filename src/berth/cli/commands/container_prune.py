"""``berth container prune [-f] [--filter k=v]...`` (cli/command/container/prune.go):
remove every stopped container, after docker's confirmation prompt."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "WARNING", "confirm", "prune", "run"]

COMMAND = Command(
    "prune [OPTIONS]",
    "Remove all stopped containers",
    [
        Flag(
            "filter",
            "list",
            help='Provide filter values (e.g. "until=<timestamp>")',
            metavar="filter",
        ),
        Flag("force,f", help="Do not prompt for confirmation"),
    ],
    (0, 0),
    aliases=("berth container prune",),
)

WARNING = "WARNING! This will remove all stopped containers."


def confirm(cli: Cli, message: str) -> bool:
    """command.PromptForConfirmation: ``message [y/N] ``; only ``y``/``Y`` agree."""
    import sys

    cli.out.write(message + " [y/N] ")
    cli.out.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() == "y"


def prune(cli: Cli, filters: str) -> tuple[int, str]:
    """(space reclaimed, the ``Deleted Containers:`` block or "")."""
    try:
        report = (
            cli.client.post_json("/containers/prune", {"filters": filters} if filters else None)
            or {}
        )
    except BerthError as exc:
        raise cli.error(exc) from None
    deleted = report.get("ContainersDeleted") or []
    if not deleted:
        return 0, ""
    return int(report.get("SpaceReclaimed") or 0), "Deleted Containers:\n" + "".join(
        i + "\n" for i in deleted
    )


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._ctrutil import filters_query, parse_filters
    from berth.cli.human import human_size

    filters = filters_query(parse_filters(opts["filter"]))
    if not opts["force"] and not confirm(cli, WARNING + "\nAre you sure you want to continue?"):
        return 0
    space, output = prune(cli, filters)
    if output:
        cli.out.write(output + "\n")
    cli.out.write(f"Total reclaimed space: {human_size(space, 4)}\n")
    return 0
