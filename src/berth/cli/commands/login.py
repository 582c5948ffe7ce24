"""``berth login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]``: the daemon checks
the credentials against the registry (``POST /auth``, as ``docker login`` does), then
they are kept in ~/.berth/config.json (0600) for later pulls and pushes
(cli/command/registry/login.go)."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "login [OPTIONS] [SERVER]",
    "Log in to a registry",
    [
        Flag("username,u", "string", help="Username"),
        Flag("password,p", "string", help="Password"),
        Flag("password-stdin", help="Take the password from stdin"),
    ],
    (0, 1),
    aliases=("berth login",),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    import sys

    from berth.cli.commands._registryauth import DEFAULT_SERVER
    from berth.registry.auth import Credentials
    from berth.registry.credentials import CredentialStore

    server = args[0] if args else DEFAULT_SERVER
    username = str(opts["username"] or "")
    password = str(opts["password"] or "")
    if opts["password_stdin"]:
        if password:
            raise CliError("--password and --password-stdin are mutually exclusive")
        if not username:
            raise CliError("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif password:
        cli.err.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    if not username:
        if not sys.stdin.isatty():
            raise CliError("Error: Cannot perform an interactive login from a non TTY device")
        username = input("Username: ").strip()
    if not password:
        import getpass

        password = getpass.getpass("Password: ")
    if not username or not password:
        raise CliError("Error: Username and password are required")
    try:
        doc = cli.client.auth(username, password, server)
    except BerthError as exc:
        raise cli.error(exc, 1) from None
    try:
        CredentialStore().store(server, Credentials(username, password))
    except BerthError as exc:
        raise CliError(f"Error saving credentials: {exc.message}") from None
    cli.out.write(str((doc or {}).get("Status") or "Login Succeeded") + "\n")
    return 0
