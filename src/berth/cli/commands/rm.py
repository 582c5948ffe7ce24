"""``berth rm [-f] [-v] [-l] CONTAINER...`` (cli/command/container/rm.go): ``DELETE
/containers/{name}`` with ``force``, ``link``, ``v``. With ``-f`` a container that does not
exist is reported on stderr but is not a failure."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "remove_query", "run"]

COMMAND = Command(
    "rm [OPTIONS] CONTAINER [CONTAINER...]",
    "Remove one or more containers",
    [
        Flag("force,f", help="Force the removal of a running container (uses SIGKILL)"),
        Flag("link,l", help="Remove the specified link"),
        Flag("volumes,v", help="Remove anonymous volumes associated with the container"),
    ],
    (1, None),
    aliases=("berth container rm", "berth container remove", "berth rm"),
)


def remove_query(force: bool, link: bool, volumes: bool) -> dict[str, str]:
    q: dict[str, str] = {}
    if force:
        q["force"] = "1"
    if link:
        q["link"] = "1"
    if volumes:
        q["v"] = "1"
    return q


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    query = remove_query(opts["force"], opts["link"], opts["volumes"])
    errors: list[str] = []
    for name in args:
        ident = name.strip("/")
        if not ident:
            errors.append("Container name cannot be empty")
            continue
        try:
            cli.client.request("DELETE", f"/containers/{ident}", query or None).read()
        except NotFound as exc:
            msg = str(cli.error(exc).args[0])
            if opts["force"]:
                cli.err.write(msg + "\n")
            else:
                errors.append(msg)
            continue
        except BerthError as exc:
            errors.append(str(cli.error(exc).args[0]))
            continue
        cli.out.write(name + "\n")
    if errors:
        raise CliError("\n".join(errors))
    return 0
