"""``berth port CONTAINER [PRIVATE_PORT[/PROTO]]`` (cli/command/container/port.go): read
from the container's ``NetworkSettings.Ports``, formatted client-side and sorted in
natural order (``80/tcp -> 0.0.0.0:8080``, ``[::]:8080`` for IPv6)."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "mappings", "natural_key", "run"]

COMMAND = Command(
    "port CONTAINER [PRIVATE_PORT[/PROTO]]",
    "List port mappings or a specific mapping for the container",
    [],
    (1, 2),
    aliases=("berth container port", "berth port"),
)


def _join_host_port(host: str, port: str) -> str:
    """Go's net.JoinHostPort: brackets around an address with a colon."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def natural_key(s: str) -> list[tuple[int, int, str]]:
    """fvbommel/sortorder NaturalLess: runs of digits compare as numbers and sort
    before other characters."""
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(s):
        j = i
        digits = s[i].isdigit()
        while j < len(s) and s[j].isdigit() == digits:
            j += 1
        part = s[i:j]
        out.append((0, int(part), part) if digits else (1, 0, part))
        i = j
    return out


def mappings(ports: dict[str, Any] | None, wanted: str = "", name: str = "") -> list[str]:
    """The lines ``docker port`` prints; ``wanted`` is the PRIVATE_PORT[/PROTO] argument."""
    ports = ports or {}
    out: list[str] = []
    if wanted:
        port, _, proto = wanted.partition("/")
        if not port.isdigit() or int(port) > 65535:
            raise CliError(
                f'Error: invalid port ({port}): strconv.ParseUint: parsing "{port}": invalid syntax'
            )
        fronts = ports.get(f"{port}/{proto or 'tcp'}") or []
        if not fronts:
            raise CliError(f"Error: No public port '{wanted}' published for {name}")
        out = [
            _join_host_port(str(f.get("HostIp", "")), str(f.get("HostPort", ""))) for f in fronts
        ]
    else:
        for key, fronts in ports.items():
            for f in fronts or []:
                out.append(
                    f"{key} -> {_join_host_port(str(f.get('HostIp', '')), str(f.get('HostPort', '')))}"
                )
    return sorted(out, key=natural_key)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    try:
        doc = cli.client.get_json(f"/containers/{args[0]}/json")
    except BerthError as exc:
        raise cli.error(exc) from None
    ports = (doc.get("NetworkSettings") or {}).get("Ports")
    lines = mappings(ports, args[1] if len(args) > 1 else "", args[0])
    if lines:
        cli.out.write("\n".join(lines) + "\n")
    return 0
