"""``berth system prune [-a] [-f] [--volumes] [--filter k=v]...`` (cli/command/system/prune.go):
stopped containers, unused networks, (with ``--volumes``) unused anonymous volumes,
dangling images (with ``-a``: every unused image) and the build cache, each through its
own prune endpoint, after docker's confirmation prompt. An endpoint the daemon does not
serve yet (404) is skipped."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli
from berth.errdefs import BerthError, NotFound, NotImplemented

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "confirmation", "run"]

COMMAND = Command(
    "prune [OPTIONS]",
    "Remove unused data",
    [
        Flag("all,a", help="Remove all unused images not just dangling ones"),
        Flag(
            "filter",
            "list",
            help='Provide filter values (e.g. "label=<key>=<value>")',
            metavar="filter",
        ),
        Flag("force,f", help="Do not prompt for confirmation"),
        Flag("volumes", help="Prune anonymous volumes"),
    ],
    (0, 0),
    aliases=("berth system prune",),
)


def confirmation(all: bool, volumes: bool, filters: list[str]) -> str:
    """docker's confirmation template, without the final ``[y/N] ``."""
    warnings = ["all stopped containers", "all networks not used by at least one container"]
    if volumes:
        warnings.append("all anonymous volumes not used by at least one container")
    if all:
        warnings += [
            "all images without at least one container associated to them",
            "all build cache",
        ]
    else:
        warnings += ["all dangling images", "unused build cache"]
    text = "WARNING! This will remove:\n" + "".join(f"  - {w}\n" for w in warnings)
    if filters:
        text += "\n  Items to be pruned will be filtered with:\n" + "".join(
            f"  - {f}\n" for f in filters
        )
    return text + "\nAre you sure you want to continue?"


def _post(cli: Cli, path: str, query: dict[str, str] | None) -> dict[str, Any] | None:
    try:
        doc: dict[str, Any] = cli.client.post_json(path, query) or {}
    except (NotFound, NotImplemented):
        return None
    except BerthError as exc:
        raise cli.error(exc) from None
    return doc


def _block(title: str, lines: list[str]) -> str:
    return f"{title}:\n" + "".join(line + "\n" for line in lines) if lines else ""


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._ctrutil import filters_query, parse_filters
    from berth.cli.commands.container_prune import confirm, prune
    from berth.cli.human import human_size

    parsed = parse_filters(opts["filter"])
    if not opts["force"] and not confirm(
        cli, confirmation(opts["all"], opts["volumes"], opts["filter"])
    ):
        return 0
    common = filters_query(parsed)
    q = {"filters": common} if common else None
    space, out = prune(cli, common)
    outputs = [out]
    doc = _post(cli, "/networks/prune", q)
    if doc is not None:
        outputs.append(_block("Deleted Networks", doc.get("NetworksDeleted") or []))
    if opts["volumes"]:
        doc = _post(cli, "/volumes/prune", q)
        if doc is not None:
            deleted = doc.get("VolumesDeleted") or []
            if deleted:
                space += int(doc.get("SpaceReclaimed") or 0)
            outputs.append(_block("Deleted Volumes", deleted))
    image_filters = filters_query({**parsed, "dangling": ["false" if opts["all"] else "true"]})
    doc = _post(cli, "/images/prune", {"filters": image_filters})
    if doc is not None:
        items = doc.get("ImagesDeleted") or []
        lines = [
            f"untagged: {i['Untagged']}"
            if i.get("Untagged")
            else f"deleted: {i.get('Deleted', '')}"
            for i in items
        ]
        if items:
            space += int(doc.get("SpaceReclaimed") or 0)
        outputs.append(_block("Deleted Images", lines))
    build_q: dict[str, str] = {"all": "1"} if opts["all"] else {}
    if common:
        build_q["filters"] = common
    doc = _post(cli, "/build/prune", build_q or None)
    if doc is not None:
        cached = doc.get("CachesDeleted") or []
        space += int(doc.get("SpaceReclaimed") or 0)
        outputs.append(_block("Deleted build cache objects", cached))
    for text in outputs:
        if text:
            cli.out.write(text + "\n")
    cli.out.write(f"Total reclaimed space: {human_size(space, 4)}\n")
    return 0
