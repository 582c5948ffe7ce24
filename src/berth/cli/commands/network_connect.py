"""``berth network connect [OPTIONS] NETWORK CONTAINER`` (cli/command/network/connect.go):
attach a running or created container to a network, with a fixed address (``--ip``,
``--ip6``), network-scoped aliases, links and driver options."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.cli.context import Cli

__all__ = ["COMMAND", "driver_opts", "endpoint_config", "run"]

COMMAND = Command(
    "connect [OPTIONS] NETWORK CONTAINER",
    "Connect a container to a network",
    [
        Flag("alias", "list", help="Add network-scoped alias for the container", metavar="strings"),
        Flag("driver-opt", "list", help="driver options for the network", metavar="strings"),
        Flag("ip", "string", help='IPv4 address (e.g., "172.30.100.104")'),
        Flag("ip6", "string", help='IPv6 address (e.g., "2001:db8::33")'),
        Flag("link", "list", help="Add link to another container", metavar="list"),
        Flag(
            "link-local-ip",
            "list",
            help="Add a link-local address for the container",
            metavar="strings",
        ),
    ],
    (2, 2),
    aliases=("berth network connect",),
)


def driver_opts(values: list[str]) -> dict[str, str]:
    """convertDriverOpt: ``k=v`` words, blanks around key and value trimmed."""
    out: dict[str, str] = {}
    for opt in values:
        key, eq, value = opt.partition("=")
        key = key.strip()
        if not eq or not key:
            raise CliError("invalid key/value pair format in driver options")
        out[key] = value.strip()
    return out


def endpoint_config(opts: dict[str, Any]) -> dict[str, Any]:
    """The ``EndpointConfig`` the docker CLI sends (its EndpointSettings, every field)."""
    from berth.cli.commands.network_create import string_slice

    ipam: dict[str, Any] = {}
    if opts["ip"]:
        ipam["IPv4Address"] = opts["ip"]
    if opts["ip6"]:
        ipam["IPv6Address"] = opts["ip6"]
    if link_local := string_slice(opts["link_local_ip"]):
        ipam["LinkLocalIPs"] = link_local
    return {
        "IPAMConfig": ipam,
        "Links": list(opts["link"]) or None,
        "Aliases": string_slice(opts["alias"]),
        "MacAddress": "",
        "DriverOpts": driver_opts(string_slice(opts["driver_opt"])),
        "GwPriority": 0,
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": None,
    }


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    config = endpoint_config(opts)
    try:
        cli.client.network_connect(args[0], args[1], config)
    except BerthError as exc:
        raise cli.error(exc) from None
    return 0
