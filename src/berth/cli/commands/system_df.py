"""``berth system df [--format …]``: disk usage as docker's table prints it
(cli/command/formatter/disk_usage.go): per type the count, the active count, the size
and what a prune could reclaim."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "rows", "run"]

COMMAND = Command(
    "system df [OPTIONS]",
    "Show berth disk usage",
    [
        Flag("format", "string", help="Format output using a custom template"),
        Flag("verbose,v", help="Show detailed information on space usage", hidden=True),
    ],
    (0, 0),
    aliases=("berth system df",),
)

TITLES = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}
DEFAULT = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"


def _reclaimable(total: int, used: int) -> str:
    from berth.cli.human import human_size

    r = total - used
    return f"{human_size(r, 4)} ({r * 100 // total}%)" if total > 0 else human_size(r, 4)


def rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    from berth.cli.human import human_size

    images = doc.get("Images") or []
    layers = int(doc.get("LayersSize") or 0)
    used = sum(
        int(i.get("Size", 0)) - int(i.get("SharedSize", 0))
        for i in images
        if i.get("Containers") and i.get("SharedSize", -1) != -1
    )
    containers = doc.get("Containers") or []
    csize = sum(int(c.get("SizeRw") or 0) for c in containers)
    cused = sum(int(c.get("SizeRw") or 0) for c in containers if c.get("State") == "running")
    volumes = doc.get("Volumes") or []
    vsize = sum(int((v.get("UsageData") or {}).get("Size") or 0) for v in volumes)
    vused = sum(int((v.get("UsageData") or {}).get("Size") or 0) for v in volumes if (v.get("UsageData") or {}).get("RefCount"))
    cache = doc.get("BuildCache") or []
    bsize = sum(int(b.get("Size") or 0) for b in cache)
    bused = sum(int(b.get("Size") or 0) for b in cache if b.get("InUse"))

    def row(kind: str, items: list[Any], active: int, size: int, reclaim: str) -> dict[str, Any]:
        return {"Type": kind, "TotalCount": str(len(items)), "Active": str(active), "Size": human_size(size, 4), "Reclaimable": reclaim}

    return [
        row("Images", images, sum(1 for i in images if i.get("Containers")), layers, _reclaimable(layers, used)),
        row("Containers", containers, sum(1 for c in containers if c.get("State") == "running"), csize, _reclaimable(csize, cused)),
        row("Local Volumes", volumes, sum(1 for v in volumes if (v.get("UsageData") or {}).get("RefCount")), vsize, _reclaimable(vsize, vused)),
        row("Build Cache", cache, sum(1 for b in cache if b.get("InUse")), bsize, human_size(bsize - bused, 4)),
    ]


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.format import FormatError, render_table

    try:
        doc = cli.client.get_json("/system/df")
    except BerthError as exc:
        raise cli.error(exc) from None
    fmt = opts["format"] or DEFAULT
    if fmt == "table":
        fmt = DEFAULT
    elif fmt == "json":
        fmt = "{{json .}}"
    try:
        cli.out.write(render_table(fmt, rows(doc), TITLES))
    except FormatError as exc:
        raise CliError(str(exc), exc.status) from None
    return 0
