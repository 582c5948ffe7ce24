"""``berth builder prune [-a] [-f] [--filter k=v]... [--keep-storage BYTES]``: remove the
build cache (cli/command/builder/prune.go), after docker's confirmation prompt."""

from __future__ import annotations

import sys

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "prune",
    "Remove build cache",
    [
        Flag("all,a", help="Remove all unused build cache, not just dangling ones"),
        Flag("filter", "list", help='Provide filter values (e.g. "until=24h")', metavar="filter"),
        Flag("force,f", help="Do not prompt for confirmation"),
        Flag("keep-storage", "string", help="Amount of disk space to keep for cache", metavar="bytes"),
        Flag("reserved-space", "string", help="Amount of disk space always allowed to keep for cache", metavar="bytes"),
    ],
    (0, 0),
    aliases=("berth builder prune",),
)

WARNING = "WARNING! This will remove all dangling build cache. Are you sure you want to continue?"
WARNING_ALL = "WARNING! This will remove all build cache. Are you sure you want to continue?"


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.api.filters import encode
    from berth.cli.commands._units import ram_in_bytes
    from berth.cli.commands.volume_ls import parse_filters
    from berth.cli.human import human_size

    filters = parse_filters(list(opts["filter"]), "--filter")
    keep_raw = opts.get("reserved_space") or opts.get("keep_storage") or ""
    try:
        keep = ram_in_bytes(keep_raw) if keep_raw else 0
    except ValueError as exc:
        raise CliError(f'invalid argument "{keep_raw}" for "--keep-storage" flag: {exc}', 125) from None
    if not opts["force"]:
        cli.out.write((WARNING_ALL if opts["all"] else WARNING) + " [y/N] ")
        cli.out.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    try:
        report = cli.client.build_prune(bool(opts["all"]), encode(filters), keep)
    except BerthError as exc:
        raise cli.error(exc) from None
    ids = report.get("CachesDeleted") or []
    if ids:
        cli.out.write("Deleted build cache objects:\n" + "".join(f"{i}\n" for i in ids))
    cli.out.write(f"Total reclaimed space: {human_size(int(report.get('SpaceReclaimed') or 0), 4)}\n")
    return 0
