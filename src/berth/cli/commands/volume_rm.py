"""``berth volume rm [-f] VOLUME [VOLUME...]`` (cli/command/volume/remove.go): prints
each name removed; the others' errors are printed together and the status is 1."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "rm [OPTIONS] VOLUME [VOLUME...]",
    "Remove one or more volumes",
    [Flag("force,f", help="Force the removal of one or more volumes")],
    (1, None),
    aliases=("berth volume rm", "berth volume remove"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    errors: list[str] = []
    for name in args:
        try:
            cli.client.request("DELETE", f"/volumes/{name}", {"force": "1"} if opts["force"] else None).read()
        except BerthError as exc:
            errors.append(cli.error(exc).args[0])
            continue
        cli.out.write(f"{name}\n")
    if errors:
        raise CliError("\n".join(errors))
    return 0
