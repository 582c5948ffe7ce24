"""``berth history [--no-trunc] [-q] [--format …] IMAGE``: the layers of an image, newest
first (cli/command/image/history.go, formatter/history.go)."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "rows", "run"]

COMMAND = Command(
    "history [OPTIONS] IMAGE",
    "Show the history of an image",
    [
        Flag("format", "string", help="Format output using a custom template"),
        Flag("human,H", "bool", True, help="Print sizes and dates in human readable format"),
        Flag("no-trunc", help="Don't truncate output"),
        Flag("quiet,q", help="Only show image IDs"),
    ],
    (1, 1),
    aliases=("berth image history", "berth history"),
)

TITLES = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}


def rows(entries: list[dict[str, Any]], no_trunc: bool, now: float) -> list[dict[str, Any]]:
    from berth.cli.human import duration, human_size

    out = []
    for e in entries:
        image_id = str(e.get("Id", ""))
        if not no_trunc and image_id.startswith("sha256:"):
            image_id = image_id[7:19]
        created_by = " ".join(str(e.get("CreatedBy", "")).split()) if not no_trunc else str(e.get("CreatedBy", ""))
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        created = int(e.get("Created") or 0)
        out.append(
            {
                "ID": image_id,
                "CreatedSince": (duration(now - created) + " ago") if created else "N/A",
                "CreatedBy": created_by,
                "Size": human_size(int(e.get("Size") or 0)),
                "Comment": str(e.get("Comment", "")),
            }
        )
    return out


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    import time

    try:
        entries = cli.client.image_history(args[0])
    except BerthError as exc:
        raise cli.error(exc) from None
    table = rows(entries, opts["no_trunc"], time.time())
    if opts["quiet"]:
        cli.out.write("".join(r["ID"] + "\n" for r in table))
        return 0
    from berth.cli.format import FormatError, render_table

    fmt = opts["format"] or "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
    try:
        cli.out.write(render_table(fmt, table, TITLES))
    except FormatError as exc:
        raise CliError(str(exc), exc.status) from None
    return 0
