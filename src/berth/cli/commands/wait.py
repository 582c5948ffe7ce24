"""``berth wait CONTAINER [CONTAINER...]`` (moby ``cli/command/container/wait.go``):
``POST /containers/{name}/wait`` for each in turn, printing each exit code; the errors
are reported together at the end (exit 1)."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "wait CONTAINER [CONTAINER...]",
    "Block until one or more containers stop, then print their exit codes",
    [],
    (1, None),
    aliases=("berth container wait", "berth wait"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    errors = []
    for name in args:
        try:
            status, message = cli.client.container_wait(name)
        except BerthError as exc:
            errors.append(cli.error(exc).args[0])
            continue
        if message:
            errors.append(message)
            continue
        cli.out.write(f"{status}\n")
        cli.out.flush()
    if errors:
        raise CliError("\n".join(errors), 1)
    return 0
