"""``berth image prune [-a] [-f]``: remove dangling (with ``-a``: all unused) images."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "prune [OPTIONS]",
    "Remove unused images",
    [
        Flag("all,a", help="Remove all unused images, not just dangling ones"),
        Flag("force,f", help="Do not prompt for confirmation"),
    ],
    (0, 0),
    aliases=("berth image prune",),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.human import human_size

    if not opts["force"]:
        warning = (
            "WARNING! This will remove all images without at least one container associated to them."
            if opts["all"]
            else "WARNING! This will remove all dangling images."
        )
        cli.out.write(warning + "\nAre you sure you want to continue? [y/N] ")
        cli.out.flush()
        import sys

        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    try:
        report = cli.client.images_prune('{"dangling":{"false":true}}' if opts["all"] else "")
    except BerthError as exc:
        raise cli.error(exc) from None
    items = report.get("ImagesDeleted") or []
    if items:
        cli.out.write("Deleted Images:\n")
        for item in items:
            if item.get("Untagged"):
                cli.out.write(f"untagged: {item['Untagged']}\n")
            elif item.get("Deleted"):
                cli.out.write(f"deleted: {item['Deleted']}\n")
        cli.out.write("\n")
    cli.out.write(f"Total reclaimed space: {human_size(int(report.get('SpaceReclaimed') or 0))}\n")
    return 0
