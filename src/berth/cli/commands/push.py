"""``berth push [-q] NAME[:TAG]``: push an image (every tag of a repository given without
one), printing the daemon's progress as ``docker push`` does, with the credentials
``berth login`` stored (cli/command/image/push.go)."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "push [OPTIONS] NAME[:TAG]",
    "Upload an image to a registry",
    [
        Flag("all-tags,a", help="Push all tags of an image to the repository"),
        Flag("quiet,q", help="Suppress verbose output"),
        Flag("disable-content-trust", help="Skip image signing", hidden=True),
    ],
    (1, 1),
    aliases=("berth image push", "berth push"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._registryauth import registry_auth
    from berth.cli.commands.pull import Display
    from berth.oci.reference import parse_normalized_named

    name = args[0]
    try:
        ref = parse_normalized_named(name)
    except BerthError as exc:
        raise CliError(f"invalid reference format: {exc.message}" if "invalid reference" not in exc.message else exc.message) from None
    if ref.digest is not None:
        raise CliError(f"invalid reference format: {name}: a digest cannot be pushed")
    if opts["all_tags"] and ref.tag:
        raise CliError("tag can't be used with --all-tags/-a")
    tag = "" if opts["all_tags"] else (ref.tag or "latest")
    isatty = getattr(cli.out, "isatty", None)
    display = Display(cli.out, bool(isatty and isatty()))
    try:
        for msg in cli.client.image_push(str(ref.name_only()), tag, registry_auth(ref.domain)):
            if msg.get("error"):
                display.end()
                raise CliError(str(msg.get("errorDetail", {}).get("message") or msg["error"]))
            if "aux" in msg:
                continue
            if not opts["quiet"]:
                display.show(msg)
    except BerthError as exc:
        raise cli.error(exc) from None
    display.end()
    if opts["quiet"]:
        cli.out.write(f"{ref.familiar_name}:{tag}\n" if tag else f"{ref.familiar_name}\n")
    return 0
