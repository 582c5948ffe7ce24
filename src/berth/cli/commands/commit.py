"""``berth commit [-a AUTHOR] [-m MESSAGE] [-c CHANGE]... [-p=false] CONTAINER [REPOSITORY[:TAG]]``
(cli/command/container/commit.go): ``POST /commit``; the repository is sent normalised
(``docker.io/apic/committed``), the new image id printed."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "commit_query", "run"]

COMMAND = Command(
    "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
    "Create a new image from a container's changes",
    [
        Flag(
            "author,a", "string", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'
        ),
        Flag(
            "change,c",
            "list",
            help="Apply Dockerfile instruction to the created image",
            metavar="list",
        ),
        Flag("message,m", "string", help="Commit message"),
        Flag("pause,p", default=True, help="Pause container during commit (default true)"),
    ],
    (1, 2),
    aliases=("berth container commit", "berth commit"),
)


def commit_query(
    container: str, reference: str, author: str, message: str, changes: list[str], pause: bool
) -> dict[str, object]:
    """The query, keys in Go's sorted order; ``changes`` repeats."""
    repo = tag = ""
    if reference:
        from berth.oci.reference import parse_normalized_named

        try:
            ref = parse_normalized_named(reference)
        except BerthError as exc:
            raise CliError(exc.message) from None
        if ref.digest is not None:
            raise CliError("refusing to create a tag with a digest reference")
        repo, tag = ref.name, ref.tag
    query: dict[str, object] = {
        "author": author,
        "changes": list(changes),
        "comment": message,
        "container": container,
    }
    if not pause:
        query["pause"] = "0"
    query["repo"] = repo
    query["tag"] = tag
    return query


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.oci.fastjson import loads

    query = commit_query(
        args[0],
        args[1] if len(args) > 1 else "",
        opts["author"],
        opts["message"],
        opts["change"],
        opts["pause"],
    )
    try:
        raw = cli.client.request("POST", "/commit", query, b"").read()
    except BerthError as exc:
        raise cli.error(exc) from None
    cli.out.write(str(loads(raw).get("Id", "")) + "\n")
    return 0
