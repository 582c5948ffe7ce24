"""``berth network ls [-q] [--no-trunc] [--filter …] [--format …]``: docker's table
(cli/command/formatter/network.go), networks in natural order of their names."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "TITLES", "go_time", "rows", "run", "template"]

COMMAND = Command(
    "ls [OPTIONS]",
    "List networks",
    [
        Flag(
            "filter,f",
            "list",
            help="Provide filter values (e.g. 'driver=bridge')",
            metavar="filter",
        ),
        Flag("format", "string", help="Format output using a custom template"),
        Flag("no-trunc", help="Do not truncate the output"),
        Flag("quiet,q", help="Only display network IDs"),
    ],
    (0, 0),
    aliases=("berth network ls", "berth network list"),
)

TITLES = {
    "ID": "NETWORK ID",
    "Name": "NAME",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "IPv4": "IPV4",
    "IPv6": "IPV6",
    "Internal": "INTERNAL",
    "Labels": "LABELS",
    "CreatedAt": "CREATED AT",
}

DEFAULT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"


def go_time(rfc3339: str) -> str:
    """Go's ``time.Time.String()`` of a UTC RFC 3339 time, as ``{{.CreatedAt}}`` shows
    it: ``2026-11-27 21:06:10.917438217 +0000 UTC``."""
    if not rfc3339.endswith(("Z", "z")) or len(rfc3339) < 20:
        return rfc3339
    date, time_ = rfc3339[:10], rfc3339[11:-1]
    whole, _, frac = time_.partition(".")
    frac = frac.rstrip("0")
    return f"{date} {whole}{'.' + frac if frac else ''} +0000 UTC"


def rows(networks: list[dict[str, Any]], no_trunc: bool) -> list[dict[str, Any]]:
    """One dict per network, keys sorted as ``{{json .}}`` prints them."""
    from berth.cli.commands._ctrutil import truncate_id
    from berth.cli.commands.port import natural_key

    out = []
    for n in sorted(networks, key=lambda n: natural_key(str(n.get("Name", "")))):
        labels = n.get("Labels") or {}
        nid = str(n.get("Id") or "")
        out.append(
            {
                "CreatedAt": go_time(str(n.get("Created") or "")),
                "Driver": n.get("Driver", ""),
                "ID": nid if no_trunc else truncate_id(nid),
                "IPv4": "true" if n.get("EnableIPv4") else "false",
                "IPv6": "true" if n.get("EnableIPv6") else "false",
                "Internal": "true" if n.get("Internal") else "false",
                "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
                "Name": n.get("Name", ""),
                "Scope": n.get("Scope", ""),
            }
        )
    return out


def template(fmt: str, quiet: bool) -> str:
    """NewNetworkFormat: the template a ``--format`` value stands for (``-q`` matters only
    for the table and raw formats)."""
    if fmt in ("", "table"):
        return "{{.ID}}" if quiet else DEFAULT
    if fmt == "raw":
        if quiet:
            return "network_id: {{.ID}}"
        return "network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n"
    if fmt == "json":
        return "{{json .}}"
    return fmt


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.api.filters import encode
    from berth.cli.commands.volume_ls import parse_filters

    filters = encode(parse_filters(opts["filter"]))
    try:
        networks = cli.client.network_list(filters)
    except BerthError as exc:
        raise cli.error(exc) from None
    from berth.cli.format import FormatError, render_table

    try:
        cli.out.write(
            render_table(
                template(opts["format"], opts["quiet"]), rows(networks, opts["no_trunc"]), TITLES
            )
        )
    except FormatError as exc:
        raise CliError(str(exc), exc.status) from None
    return 0
