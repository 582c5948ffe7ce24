"""``berth logout [SERVER]``: forget the credentials ``berth login`` stored
(cli/command/registry/logout.go)."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "logout [SERVER]",
    "Log out from a registry",
    [],
    (0, 1),
    aliases=("berth logout",),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._registryauth import DEFAULT_SERVER
    from berth.registry.credentials import CredentialStore

    server = args[0] if args else DEFAULT_SERVER
    try:
        CredentialStore().erase(server)
    except NotFound:
        cli.out.write(f"Not logged in to {server}\n")
        return 0
    except BerthError as exc:
        raise CliError(exc.message) from None
    cli.out.write(f"Removing login credentials for {server}\n")
    return 0
