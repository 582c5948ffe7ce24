"""``berth volume prune [-a] [-f] [--filter …]``: remove unused anonymous volumes (with
``-a``: all unused volumes), as docker ≥ 23 (cli/command/volume/prune.go)."""

from __future__ import annotations

import sys

from berth.cli.args import Command, Flag
from berth.cli.commands.volume_ls import parse_filters
from berth.cli.context import Cli
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "WARNING", "WARNING_ALL", "run"]

COMMAND = Command(
    "prune [OPTIONS]",
    "Remove unused local volumes",
    [
        Flag("all,a", help="Remove all unused volumes, not just anonymous ones"),
        Flag("filter", "list", help="Provide filter values (e.g. 'label=<label>')", metavar="filter"),
        Flag("force,f", help="Do not prompt for confirmation"),
    ],
    (0, 0),
    aliases=("berth volume prune",),
)

WARNING = "WARNING! This will remove anonymous local volumes not used by at least one container."
WARNING_ALL = "WARNING! This will remove all local volumes not used by at least one container."


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.api.filters import encode
    from berth.cli.human import human_size

    filters = parse_filters(opts["filter"], "--filter")
    if opts["all"]:
        filters.setdefault("all", []).append("true")
    if not opts["force"]:
        cli.out.write((WARNING_ALL if opts["all"] else WARNING) + "\nAre you sure you want to continue? [y/N] ")
        cli.out.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    encoded = encode(filters)
    try:
        report = cli.client.post_json("/volumes/prune", {"filters": encoded} if encoded else None)
    except BerthError as exc:
        raise cli.error(exc) from None
    names = report.get("VolumesDeleted") or []
    if names:
        cli.out.write("Deleted Volumes:\n" + "".join(f"{n}\n" for n in names) + "\n")
    cli.out.write(f"Total reclaimed space: {human_size(int(report.get('SpaceReclaimed') or 0), 4)}\n")
    return 0
