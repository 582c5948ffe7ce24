"""``berth volume create [-d DRIVER] [-o k=v] [--label k=v] [VOLUME]``: prints the
volume's name (cli/command/volume/create.go); no name makes an anonymous volume."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "kv_map", "run"]

COMMAND = Command(
    "create [OPTIONS] [VOLUME]",
    "Create a volume",
    [
        Flag("driver,d", "string", "local", "Specify volume driver name", metavar="string"),
        Flag("label", "list", help="Set metadata for a volume", metavar="list"),
        Flag("name", "string", help="Specify volume name", hidden=True),
        Flag("opt,o", "list", help="Set driver specific options", metavar="map"),
    ],
    (0, 1),
    aliases=("berth volume create",),
)


def kv_map(values: list[str]) -> dict[str, str]:
    """``k=v`` words as a map; a word without ``=`` is a key with an empty value
    (opts.ConvertKVStringsToMap)."""
    out: dict[str, str] = {}
    for v in values:
        key, _, value = v.partition("=")
        out[key] = value
    return out


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    name = opts["name"]
    if args:
        if name:
            raise CliError("Conflicting options: either specify --name or provide positional arg, not both")
        name = args[0]
    body = {
        "Name": name,
        "Driver": opts["driver"],
        "DriverOpts": kv_map(opts["opt"]),
        "Labels": kv_map(opts["label"]),
    }
    try:
        doc = cli.client.post_json("/volumes/create", None, body)
    except BerthError as exc:
        raise cli.error(exc) from None
    cli.out.write(f"{doc['Name']}\n")
    return 0
