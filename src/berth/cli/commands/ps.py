"""``berth ps [-a] [-q] [-s] [-n N | -l] [--filter …] [--format …] [--no-trunc]``: docker's
container table (cli/command/formatter/container.go).

Columns are computed client-side from ``GET /containers/json``: the id cut to 12, the
image in familiar form, the command quoted and cut to 20 with ``…``, the age, the
daemon's status string, the published ports (ranges of consecutive ports collapsed, as
``DisplayablePorts`` does), the names without their ``/``.
"""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "display_ports", "list_query", "rows", "run"]

COMMAND = Command(
    "ps [OPTIONS]",
    "List containers",
    [
        Flag("all,a", help="Show all containers (default shows just running)"),
        Flag(
            "filter,f", "list", help="Filter output based on conditions provided", metavar="filter"
        ),
        Flag(
            "format",
            "string",
            help=(
                "Format output using a custom template:\n"
                "'table':            Print output in table format with column headers (default)\n"
                "'table TEMPLATE':   Print output in table format using the given Go template\n"
                "'json':             Print in JSON format\n"
                "'TEMPLATE':         Print output using the given Go template."
            ),
        ),
        Flag("last,n", "int", -1, "Show n last created containers (includes all states)"),
        Flag("latest,l", help="Show the latest created container (includes all states)"),
        Flag("no-trunc", help="Don't truncate output"),
        Flag("quiet,q", help="Only display container IDs"),
        Flag("size,s", help="Display total file sizes"),
    ],
    (0, 0),
    aliases=("berth container ls", "berth container list", "berth container ps", "berth ps"),
)

TITLES = {
    "ID": "CONTAINER ID",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Size": "SIZE",
    "Names": "NAMES",
    "Labels": "LABELS",
    "Mounts": "MOUNTS",
    "Networks": "NETWORKS",
    "LocalVolumes": "LOCAL VOLUMES",
}
DEFAULT = (
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
)


def list_query(all: bool, last: int, latest: bool, size: bool, filters: str) -> dict[str, str]:
    """The ``/containers/json`` query as the moby client builds it (keys sorted, as Go's
    url.Values encodes them)."""
    if latest and last == -1:
        last = 1
    q: dict[str, str] = {}
    if all:
        q["all"] = "1"
    if filters:
        q["filters"] = filters
    if last > 0:
        q["limit"] = str(last)
    if size:
        q["size"] = "1"
    return q


def _port_key(p: dict[str, Any]) -> tuple[int, str, int, str]:
    return (
        int(p.get("PrivatePort") or 0),
        str(p.get("IP") or ""),
        int(p.get("PublicPort") or 0),
        str(p.get("Type") or ""),
    )


def _group(key: str, first: int, last: int) -> str:
    ip, _, proto = key.rpartition("/")
    group = str(first) if first == last else f"{first}-{last}"
    if ip:
        return f"{ip}:{group}->{group}/{proto}"
    return f"{group}/{proto}"


def display_ports(ports: list[dict[str, Any]]) -> str:
    """DisplayablePorts: ``0.0.0.0:8080->80/tcp, :::8080->80/tcp``; runs of consecutive
    unpublished (or identically published) ports become ``8000-8002/tcp``."""
    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    mappings: list[str] = []
    for p in sorted(ports, key=_port_key):
        private, ip, public, proto = _port_key(p)
        key = proto
        if ip:
            if public != private:
                mappings.append(f"{ip}:{public}->{private}/{proto}")
                continue
            key = f"{ip}/{proto}"
        g = groups.get(key)
        if g is None:
            groups[key] = [private, private]
            order.append(key)
            continue
        if private == g[1] + 1:
            g[1] = private
            continue
        result.append(_group(key, g[0], g[1]))
        groups[key] = [private, private]
    result += [_group(k, *groups[k]) for k in order]
    return ", ".join(result + mappings)


def _image(c: dict[str, Any], trunc: bool) -> str:
    from berth.cli.commands._ctrutil import truncate_id

    image = str(c.get("Image") or "")
    if not image:
        return "<no image>"
    if not trunc:
        return image
    if truncate_id(str(c.get("ImageID") or "")) == truncate_id(image):
        return truncate_id(image)
    if "@" not in image and "docker.io" not in image and not image.startswith("library/"):
        # already familiar and without a digest: what the parse would give back (and
        # the reference module's regexps cost ~7 ms of the command's start)
        return image
    from berth.oci.reference import parse_normalized_named

    try:
        ref = parse_normalized_named(image)
    except BerthError:
        return image
    # a tag is kept, a digest is dropped (TrimNamed)
    return f"{ref.familiar_name}:{ref.tag}" if ref.tag else ref.familiar_name


def row(c: dict[str, Any], trunc: bool, now: float) -> dict[str, str]:
    """One container as docker's ContainerContext shows it; keys sorted, as ``{{json .}}``
    prints them."""
    import time

    from berth.cli.commands._ctrutil import ellipsis, truncate_id
    from berth.cli.human import duration, human_size
    from berth.gofmt import go_quote

    cid = str(c.get("Id") or "")
    names = [n[1:] if n.startswith("/") else n for n in c.get("Names") or []]
    if trunc:
        plain = [n for n in names if "/" not in n]
        if plain:
            names = plain[:1]
    command = str(c.get("Command") or "")
    created = int(c.get("Created") or 0)
    labels = c.get("Labels") or {}
    mounts = []
    for m in c.get("Mounts") or []:
        name = str(m.get("Name") or m.get("Source") or "")
        mounts.append(ellipsis(name, 15) if trunc else name)
    nets = (c.get("NetworkSettings") or {}).get("Networks") or {}
    srw = int(c.get("SizeRw") or 0)
    sroot = int(c.get("SizeRootFs") or 0)
    size = human_size(srw)
    if sroot > 0:
        size += f" (virtual {human_size(sroot)})"
    return {
        "Command": go_quote(ellipsis(command, 20) if trunc else command),
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S %z %Z", time.localtime(created)),
        "ID": truncate_id(cid) if trunc else cid,
        "Image": _image(c, trunc),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "LocalVolumes": str(sum(1 for m in c.get("Mounts") or [] if m.get("Driver") == "local")),
        "Mounts": ",".join(mounts),
        "Names": ",".join(names),
        "Networks": ",".join(sorted(nets)),
        "Ports": display_ports(list(c.get("Ports") or [])),
        "RunningFor": duration(now - created) + " ago",
        "Size": size,
        "State": str(c.get("State") or ""),
        "Status": str(c.get("Status") or ""),
    }


def rows(containers: list[dict[str, Any]], trunc: bool, now: float) -> list[dict[str, str]]:
    return [row(c, trunc, now) for c in containers]


def template(fmt: str, quiet: bool, size: bool) -> str:
    """NewContainerFormat: the template a ``--format`` value stands for."""
    if fmt in ("", "table"):
        if quiet:
            return "{{.ID}}"
        return DEFAULT + ("\t{{.Size}}" if size else "")
    if quiet:
        return "{{.ID}}"
    if fmt == "json":
        return "{{json .}}"
    return fmt


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    import time

    from berth.cli.commands._ctrutil import filters_query, parse_filters
    from berth.cli.format import FormatError, Template, render_table

    fmt = opts["format"]
    size = bool(opts["size"])
    if fmt and fmt not in ("table", "json"):
        try:
            Template(fmt[5:] if fmt.startswith("table") else fmt)
        except FormatError as exc:
            raise CliError(str(exc), exc.status) from None
    if fmt and not opts["quiet"] and not size:
        # docker requests sizes when the template shows them
        size = ".Size" in fmt or "json" in fmt
    query = list_query(
        opts["all"],
        opts["last"],
        opts["latest"],
        size,
        filters_query(parse_filters(opts["filter"])),
    )
    try:
        containers = cli.client.get_json("/containers/json", query)
    except BerthError as exc:
        raise cli.error(exc) from None
    tmpl = template(fmt, opts["quiet"], size)
    try:
        cli.out.write(
            render_table(tmpl, rows(containers, not opts["no_trunc"], time.time()), TITLES)
        )
    except FormatError as exc:
        raise CliError(str(exc), exc.status) from None
    return 0
