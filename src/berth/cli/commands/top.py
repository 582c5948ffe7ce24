"""``berth top CONTAINER [ps OPTIONS]`` (cli/command/container/top.go): the daemon runs
``ps`` (with the given options, ``-ef`` by default) and answers titles and rows; they are
laid out by a tabwriter with minimum width 20 and padding 3."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.context import Cli
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "render", "run"]

COMMAND = Command(
    "top CONTAINER [ps OPTIONS]",
    "Display the running processes of a container",
    [],
    (1, None),
    interspersed=False,
    aliases=("berth container top", "berth top"),
)


def render(doc: dict[str, Any]) -> str:
    from berth.cli.tabwriter import tabwrite

    lines = ["\t".join(doc.get("Titles") or [])]
    lines += ["\t".join(str(c) for c in proc) for proc in doc.get("Processes") or []]
    return tabwrite("".join(line + "\n" for line in lines), minwidth=20, padding=3)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    query = {"ps_args": " ".join(args[1:])} if len(args) > 1 else None
    try:
        doc = cli.client.get_json(f"/containers/{args[0]}/top", query)
    except BerthError as exc:
        raise cli.error(exc) from None
    cli.out.write(render(doc))
    return 0
