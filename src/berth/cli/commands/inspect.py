"""``berth inspect [-f FORMAT] [-s] [--type TYPE] NAME|ID...`` (cli/command/system/inspect.go):
without ``--type``, each reference is tried as a container, an image, a network, a
volume and a plugin, in that order, moving on only on 404 (swarm objects are skipped
since berthd is never a swarm manager); none found is ``Error: No such object: X``."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.commands._formatflag import FORMAT_FLAG
from berth.cli.context import Cli, CliError
from berth.errdefs import NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "TYPES", "run"]

COMMAND = Command(
    "inspect [OPTIONS] NAME|ID [NAME|ID...]",
    "Return low-level information on berth objects",
    [
        FORMAT_FLAG,
        Flag("size,s", help="Display total file sizes if the type is container"),
        Flag("type", "string", help="Only inspect objects of the given type"),
    ],
    (1, None),
    aliases=("berth inspect",),
)

# type → path of its inspect endpoint; the order of the search without --type
TYPES: dict[str, str] = {
    "container": "/containers/{}/json",
    "image": "/images/{}/json",
    "network": "/networks/{}",
    "volume": "/volumes/{}",
    "plugin": "/plugins/{}/json",
}
_SWARM = ("config", "node", "secret", "service", "task")


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands.container_inspect import print_inspected

    kind = opts["type"]
    if kind and kind not in TYPES and kind not in _SWARM:
        raise CliError(f'"{kind}" is not a valid value for --type')
    size = opts["size"]

    def get(ref: str) -> Any:
        for t, path in TYPES.items():
            if kind and t != kind:
                continue
            query = {"size": "1"} if size and t == "container" else None
            try:
                doc = cli.client.get_json(path.format(ref), query)
            except NotFound:
                if kind:
                    raise
                continue
            if size and t != "container":
                cli.err.write(f"WARNING: --size ignored for {t}\n")
            return doc
        raise CliError(f"Error: No such object: {ref}")

    return print_inspected(cli, args, opts["format"], get)
