"""``berth container inspect [-f FORMAT] [-s] CONTAINER...`` (cli/command/container/inspect.go):
the daemon's JSON as an indented list, or each container through a template. A missing
container does not stop the others; its error is printed at the end and the exit
status is 1."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.commands._formatflag import FORMAT_FLAG
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["COMMAND", "print_inspected", "run"]

COMMAND = Command(
    "inspect [OPTIONS] CONTAINER [CONTAINER...]",
    "Display detailed information on one or more containers",
    [FORMAT_FLAG, Flag("size,s", help="Display total file sizes")],
    (1, None),
    aliases=("berth container inspect",),
)


def print_inspected(cli: Cli, refs: list[str], fmt: str, get: Callable[[str], Any]) -> int:
    """docker's inspect.Inspect: ``get`` each ref (a CliError or BerthError is recorded),
    print the found ones, then every error, one per line."""
    found: list[Any] = []
    errors: list[str] = []
    for ref in refs:
        try:
            found.append(get(ref))
        except CliError as exc:
            errors.append(str(exc.args[0]))
        except BerthError as exc:
            errors.append(str(cli.error(exc).args[0]))
    if fmt:
        from berth.cli.format import FormatError, Template

        try:
            t = Template(fmt)
            for doc in found:
                cli.out.write(t.execute(doc) + "\n")
        except FormatError as exc:
            raise CliError(str(exc), exc.status) from None
    else:
        import json

        cli.out.write(json.dumps(found, indent=4, ensure_ascii=False) + "\n")
    if errors:
        raise CliError("\n".join(errors))
    return 0


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    query = {"size": "1"} if opts["size"] else None
    return print_inspected(
        cli, args, opts["format"], lambda ref: cli.client.get_json(f"/containers/{ref}/json", query)
    )
