"""``berth diff CONTAINER`` (cli/command/container/diff.go): the container's changes
against its image as ``C``/``A``/``D`` (changed, added, deleted) and the path."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.context import Cli
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "render", "run"]

COMMAND = Command(
    "diff CONTAINER",
    "Inspect changes to files or directories on a container's filesystem",
    [],
    (1, 1),
    aliases=("berth container diff", "berth diff"),
)

KINDS = {0: "C", 1: "A", 2: "D"}


def render(changes: list[dict[str, Any]]) -> str:
    return "".join(
        f"{KINDS.get(int(c.get('Kind', 0)), '?')} {c.get('Path', '')}\n" for c in changes or []
    )


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    try:
        changes = cli.client.get_json(f"/containers/{args[0]}/changes")
    except BerthError as exc:
        raise cli.error(exc) from None
    cli.out.write(render(changes))
    return 0
