"""``berth stats [-a] [--no-stream] [--no-trunc] [--format …] [CONTAINER...]``
(cli/command/container/stats.go, stats_helpers.go, formatter/stats.go).

Each sample from ``GET /containers/{id}/stats`` carries the current and the previous
CPU reading (``cpu_stats``, ``precpu_stats``); the CLI derives:

* CPU % = Δ container CPU time / Δ system CPU time * online CPUs * 100;
* memory used = ``usage`` minus the inactive page cache (``total_inactive_file`` on
  cgroup v1, ``inactive_file`` on v2), shown against ``limit``;
* network rx/tx summed over interfaces, block I/O read/write summed over
  ``io_service_bytes_recursive``, and the pids count.

With ``--no-stream`` one sample per container is printed once; otherwise each container
is followed on its own connection and the table is redrawn every half second.
"""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "entry", "render", "row", "run", "stream"]

COMMAND = Command(
    "stats [OPTIONS] [CONTAINER...]",
    "Display a live stream of container(s) resource usage statistics",
    [
        Flag("all,a", help="Show all containers (default shows just running)"),
        Flag("format", "string", help="Format output using a custom template"),
        Flag("no-stream", help="Disable streaming stats and only pull the first result"),
        Flag("no-trunc", help="Do not truncate output"),
    ],
    (0, None),
    aliases=("berth container stats", "berth stats"),
)

DEFAULT = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
TITLES = {
    "Container": "CONTAINER",
    "ID": "CONTAINER ID",
    "Name": "NAME",
    "CPUPerc": "CPU %",
    "MemUsage": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %",
    "NetIO": "NET I/O",
    "BlockIO": "BLOCK I/O",
    "PIDs": "PIDS",
}


def _cpu_percent(s: dict[str, Any]) -> float:
    cpu = s.get("cpu_stats") or {}
    pre = s.get("precpu_stats") or {}
    usage = cpu.get("cpu_usage") or {}
    cpu_delta = float(usage.get("total_usage") or 0) - float(
        (pre.get("cpu_usage") or {}).get("total_usage") or 0
    )
    system_delta = float(cpu.get("system_cpu_usage") or 0) - float(pre.get("system_cpu_usage") or 0)
    online = float(cpu.get("online_cpus") or 0) or float(len(usage.get("percpu_usage") or []))
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def _mem_used(mem: dict[str, Any]) -> float:
    usage = int(mem.get("usage") or 0)
    stats = mem.get("stats") or {}
    if "total_inactive_file" in stats and int(stats["total_inactive_file"]) < usage:  # cgroup v1
        return float(usage - int(stats["total_inactive_file"]))
    inactive = int(stats.get("inactive_file") or 0)  # cgroup v2
    if inactive < usage:
        return float(usage - inactive)
    return float(usage)


def _block_io(blkio: dict[str, Any]) -> tuple[float, float]:
    read = write = 0
    for e in blkio.get("io_service_bytes_recursive") or []:
        op = str(e.get("op") or "")[:1]
        if op in ("r", "R"):
            read += int(e.get("value") or 0)
        elif op in ("w", "W"):
            write += int(e.get("value") or 0)
    return float(read), float(write)


def entry(container: str, s: dict[str, Any]) -> dict[str, Any]:
    """The numbers of one sample (docker's StatsEntry)."""
    mem = s.get("memory_stats") or {}
    used = _mem_used(mem)
    limit = float(mem.get("limit") or 0)
    nets = (s.get("networks") or {}).values()
    read, write = _block_io(s.get("blkio_stats") or {})
    return {
        "container": container,
        "name": str(s.get("name") or ""),
        "id": str(s.get("id") or ""),
        "cpu": _cpu_percent(s),
        "mem": used,
        "limit": limit,
        "mem_percent": used / limit * 100.0 if limit else 0.0,
        "rx": float(sum(int(n.get("rx_bytes") or 0) for n in nets)),
        "tx": float(sum(int(n.get("tx_bytes") or 0) for n in nets)),
        "read": read,
        "write": write,
        "pids": int((s.get("pids_stats") or {}).get("current") or 0),
        "invalid": False,
    }


def row(e: dict[str, Any], trunc: bool) -> dict[str, str]:
    """The columns of one entry as strings; keys sorted as ``{{json .}}`` prints them."""
    from berth.cli.commands._ctrutil import truncate_id
    from berth.cli.human import bytes_size, human_size

    bad = e["invalid"]
    name = e["name"]
    return {
        "BlockIO": "--" if bad else f"{human_size(e['read'])} / {human_size(e['write'])}",
        "CPUPerc": "--" if bad else f"{e['cpu']:.2f}%",
        "Container": e["container"],
        "ID": truncate_id(e["id"]) if trunc else e["id"],
        "MemPerc": "--" if bad else f"{e['mem_percent']:.2f}%",
        "MemUsage": "-- / --" if bad else f"{bytes_size(e['mem'])} / {bytes_size(e['limit'])}",
        "Name": name[1:] if len(name) > 1 else "--",
        "NetIO": "--" if bad else f"{human_size(e['rx'])} / {human_size(e['tx'])}",
        "PIDs": "--" if bad else str(e["pids"]),
    }


def _template(fmt: str) -> str:
    if not fmt or fmt == "table":
        return DEFAULT
    return "{{json .}}" if fmt == "json" else fmt


def render(entries: list[dict[str, Any]], fmt: str, trunc: bool) -> str:
    from berth.cli.format import FormatError, render_table

    try:
        return render_table(_template(fmt), [row(e, trunc) for e in entries], TITLES)
    except FormatError as exc:
        raise CliError(str(exc), exc.status) from None


def _targets(cli: Cli, opts: dict[str, Any], args: list[str]) -> list[str]:
    if args:
        return list(args)
    query = {"all": "1"} if opts["all"] else None
    try:
        return [str(c["Id"]) for c in cli.client.get_json("/containers/json", query)]
    except BerthError as exc:
        raise cli.error(exc) from None


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    trunc = not opts["no_trunc"]
    targets = _targets(cli, opts, args)
    if opts["no_stream"]:
        entries: list[dict[str, Any]] = []
        errors: list[str] = []
        for name in targets:
            try:
                entries.append(
                    entry(name, cli.client.get_json(f"/containers/{name}/stats", {"stream": "0"}))
                )
            except BerthError as exc:
                errors.append(str(cli.error(exc).args[0]))
        if errors:
            raise CliError("\n".join(errors))
        cli.out.write(render(entries, opts["format"], trunc))
        return 0
    return stream(cli, targets, opts["format"], trunc, bool(args))


def stream(
    cli: Cli, targets: list[str], fmt: str, trunc: bool, named: bool, frames: int | None = None
) -> int:
    """Follow every container on its own connection; clear the screen and redraw twice
    a second (``frames`` bounds the redraws, for tests; None: until interrupted)."""
    import threading
    import time

    from berth.client.api import Client

    version = cli.client.api_version
    latest: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    lock = threading.Lock()

    def follow(name: str) -> None:
        client = Client(cli.host, version)
        try:
            resp = client.request("GET", f"/containers/{name}/stats", {"stream": "1"})
            for doc in client.json_messages(resp):
                with lock:
                    latest[name] = entry(name, doc)
        except BerthError as exc:
            with lock:
                errors[name] = str(cli.error(exc).args[0])
                if name in latest:
                    latest[name]["invalid"] = True
        finally:
            client.close()

    for name in targets:
        threading.Thread(target=follow, args=(name,), daemon=True).start()
    while frames is None or frames > 0:
        if frames is not None:
            frames -= 1
        time.sleep(0.5)
        with lock:
            if named and errors and len(errors) == len(targets):
                raise CliError("\n".join(errors[n] for n in targets))
            shown = [latest[n] for n in targets if n in latest]
        cli.out.write("\033[2J\033[H" + render(shown, fmt, trunc))
        cli.out.flush()
    return 0
