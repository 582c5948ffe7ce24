"""``berth rmi [-f] [--no-prune] IMAGE [IMAGE...]`` (cli/command/image/remove.go): one
``Untagged:``/``Deleted:`` line per record; errors for some images do not stop the
others, and the exit status is 1 if any failed."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "rmi [OPTIONS] IMAGE [IMAGE...]",
    "Remove one or more images",
    [
        Flag("force,f", help="Force removal of the image"),
        Flag("no-prune", help="Do not delete untagged parents"),
    ],
    (1, None),
    aliases=("berth image rm", "berth image remove", "berth rmi"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    failed = False
    for name in args:
        try:
            items = cli.client.image_remove(name, opts["force"], opts["no_prune"])
        except BerthError as exc:
            cli.err.write(cli.error(exc).args[0] + "\n")
            failed = True
            continue
        for item in items:
            if item.get("Untagged"):
                cli.out.write(f"Untagged: {item['Untagged']}\n")
            elif item.get("Deleted"):
                cli.out.write(f"Deleted: {item['Deleted']}\n")
    return 1 if failed else 0
