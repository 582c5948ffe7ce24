"""``berth volume ls [-q] [--filter …] [--format …]``: docker's table
(cli/command/formatter/volume.go), volumes sorted by name."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "TITLES", "parse_filters", "rows", "run"]

COMMAND = Command(
    "ls [OPTIONS]",
    "List volumes",
    [
        Flag("filter,f", "list", help="Provide filter values (e.g. 'dangling=true')", metavar="filter"),
        Flag("format", "string", help="Format output using a custom template"),
        Flag("quiet,q", help="Only display volume names"),
    ],
    (0, 0),
    aliases=("berth volume ls", "berth volume list"),
)

TITLES = {
    "Name": "VOLUME NAME",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "Mountpoint": "MOUNTPOINT",
    "Labels": "LABELS",
    "Links": "LINKS",
    "Size": "SIZE",
}


def parse_filters(values: list[str], flag: str = "-f, --filter") -> dict[str, list[str]]:
    """``--filter key=value`` flags as the API's filters (docker's opts.FilterOpt); a
    value without ``=`` is a bad flag (status 125), as pflag reports it."""
    out: dict[str, list[str]] = {}
    for f in values:
        key, eq, value = f.partition("=")
        if not eq:
            raise CliError(
                f'invalid argument "{f}" for "{flag}" flag: bad format of filter (expected name=value)', 125
            )
        out.setdefault(key.strip().lower(), []).append(value)
    return out


def rows(volumes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for v in sorted(volumes, key=lambda v: str(v.get("Name", ""))):
        labels = v.get("Labels") or {}
        out.append(
            {
                "Name": v.get("Name", ""),
                "Driver": v.get("Driver", ""),
                "Scope": v.get("Scope", ""),
                "Mountpoint": v.get("Mountpoint", ""),
                "Labels": ",".join(f"{k}={val}" for k, val in labels.items()),
                "Links": "N/A",
                "Size": "N/A",
            }
        )
    return out


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.api.filters import encode

    filters = encode(parse_filters(opts["filter"]))
    try:
        doc = cli.client.get_json("/volumes", {"filters": filters} if filters else None)
    except BerthError as exc:
        raise cli.error(exc) from None
    table = rows(doc.get("Volumes") or [])
    for w in doc.get("Warnings") or []:
        cli.err.write(f"{w}\n")
    if opts["quiet"]:
        cli.out.write("".join(f"{r['Name']}\n" for r in table))
        return 0
    from berth.cli.format import FormatError, render_table

    fmt = opts["format"]
    if not fmt or fmt == "table":
        fmt = "table {{.Driver}}\t{{.Name}}"
    elif fmt == "json":
        fmt = "{{json .}}"
    try:
        cli.out.write(render_table(fmt, table, TITLES))
    except FormatError as exc:
        raise CliError(str(exc), exc.status) from None
    return 0
