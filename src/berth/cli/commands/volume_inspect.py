"""``berth volume inspect [-f FORMAT] VOLUME [VOLUME...]``: the daemon's JSON as a list,
or each volume through a template (cli/command/volume/inspect.go)."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.commands._formatflag import FORMAT_FLAG
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "inspect [OPTIONS] VOLUME [VOLUME...]",
    "Display detailed information on one or more volumes",
    [FORMAT_FLAG],
    (1, None),
    aliases=("berth volume inspect",),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    found: list[dict[str, Any]] = []
    errors: list[str] = []
    for name in args:
        try:
            found.append(cli.client.get_json(f"/volumes/{name}"))
        except NotFound:
            errors.append(f"Error: No such volume: {name}")
        except BerthError as exc:
            raise cli.error(exc) from None
    fmt = opts["format"]
    if fmt and fmt != "json":
        from berth.cli.format import FormatError, Template

        try:
            t = Template(fmt)
            for doc in found:
                cli.out.write(t.execute(doc) + "\n")
        except FormatError as exc:
            raise CliError(str(exc), exc.status) from None
    else:
        import json

        cli.out.write(json.dumps(found, indent=4) + "\n")
    if errors:
        raise CliError("\n".join(errors))
    return 0
