"""The container verbs that are one request per named container and print the name
back (stop, kill, restart, pause, unpause, rm): docker runs them for every argument,
prints each name that succeeded and then every error, one per line, exiting 1 if any
failed."""

from __future__ import annotations

from berth.cli.context import Cli

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["post_each"]


def post_each(
    cli: Cli, names: list[str], action: str, query: Mapping[str, object] | None = None
) -> int:
    """``POST /containers/{name}/{action}`` for each name."""
    from berth.cli.commands._ctrutil import each_container

    def op(name: str) -> None:
        cli.client.request("POST", f"/containers/{name}/{action}", query or None).read()

    return each_container(cli, names, op)
