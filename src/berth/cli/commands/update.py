"""``berth update [OPTIONS] CONTAINER...`` (cli/command/container/update.go): change the
resource limits and restart policy of containers. Only flags given on the command line
are sent with a value; zero means "leave as is" to the daemon, as in docker's
``UpdateConfig`` (where every field is always present)."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "parse_restart", "run", "update_body"]

COMMAND = Command(
    "update [OPTIONS] CONTAINER [CONTAINER...]",
    "Update configuration of one or more containers",
    [
        Flag(
            "blkio-weight",
            "string",
            help="Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)",
            metavar="uint16",
        ),
        Flag(
            "cpu-period",
            "string",
            help="Limit CPU CFS (Completely Fair Scheduler) period",
            metavar="int",
        ),
        Flag(
            "cpu-quota",
            "string",
            help="Limit CPU CFS (Completely Fair Scheduler) quota",
            metavar="int",
        ),
        Flag(
            "cpu-rt-period",
            "string",
            help="Limit the CPU real-time period in microseconds",
            metavar="int",
        ),
        Flag(
            "cpu-rt-runtime",
            "string",
            help="Limit the CPU real-time runtime in microseconds",
            metavar="int",
        ),
        Flag("cpu-shares,c", "string", help="CPU shares (relative weight)", metavar="int"),
        Flag("cpus", "string", help="Number of CPUs", metavar="decimal"),
        Flag("cpuset-cpus", "string", help="CPUs in which to allow execution (0-3, 0,1)"),
        Flag("cpuset-mems", "string", help="MEMs in which to allow execution (0-3, 0,1)"),
        Flag(
            "kernel-memory",
            "string",
            help="Kernel memory limit (deprecated)",
            metavar="bytes",
            hidden=True,
        ),
        Flag("memory,m", "string", help="Memory limit", metavar="bytes"),
        Flag("memory-reservation", "string", help="Memory soft limit", metavar="bytes"),
        Flag(
            "memory-swap",
            "string",
            help="Swap limit equal to memory plus swap: -1 to enable unlimited swap",
            metavar="bytes",
        ),
        Flag(
            "pids-limit",
            "string",
            help="Tune container pids limit (set -1 for unlimited)",
            metavar="int",
        ),
        Flag("restart", "string", help="Restart policy to apply when a container exits"),
    ],
    (1, None),
    aliases=("berth container update", "berth update"),
)

# flag key → (body field, parser kind)
_FIELDS: dict[str, tuple[str, str]] = {
    "blkio_weight": ("BlkioWeight", "uint16"),
    "cpu_period": ("CpuPeriod", "int"),
    "cpu_quota": ("CpuQuota", "int"),
    "cpu_rt_period": ("CpuRealtimePeriod", "int"),
    "cpu_rt_runtime": ("CpuRealtimeRuntime", "int"),
    "cpu_shares": ("CpuShares", "int"),
    "cpus": ("NanoCpus", "cpus"),
    "cpuset_cpus": ("CpusetCpus", "str"),
    "cpuset_mems": ("CpusetMems", "str"),
    "kernel_memory": ("KernelMemory", "bytes"),
    "memory": ("Memory", "bytes"),
    "memory_reservation": ("MemoryReservation", "bytes"),
    "memory_swap": ("MemorySwap", "swap"),
    "pids_limit": ("PidsLimit", "int"),
}


def _flag_name(key: str) -> str:
    f = next(f for f in COMMAND.flags if f.key == key)
    return f"-{f.short}, --{f.long}" if f.short else f"--{f.long}"


def _parse(key: str, kind: str, value: str) -> int | str:
    from berth.cli.commands._units import ram_in_bytes, rational_nanos

    try:
        if kind == "str":
            return value
        if kind == "bytes":
            return ram_in_bytes(value)
        if kind == "swap":
            return -1 if value == "-1" else ram_in_bytes(value)
        if kind == "cpus":
            return rational_nanos(value)
        try:
            n = int(value)
        except ValueError:
            fn = "ParseUint" if kind == "uint16" else "ParseInt"
            raise ValueError(f'strconv.{fn}: parsing "{value}": invalid syntax') from None
        if kind == "uint16" and not 0 <= n <= 65535:
            raise ValueError(f'strconv.ParseUint: parsing "{value}": value out of range')
        return n
    except ValueError as exc:
        raise CliError(
            f'invalid argument "{value}" for "{_flag_name(key)}" flag: {exc}', 125
        ) from None


def parse_restart(policy: str) -> dict[str, Any]:
    """opts.ParseRestartPolicy: ``name[:max-retries]``."""
    name, colon, count = policy.partition(":")
    if not colon:
        return {"Name": name, "MaximumRetryCount": 0}
    if not count.isdigit():
        raise CliError("invalid restart policy format: maximum retry count must be an integer")
    if name != "on-failure":
        raise CliError(
            "invalid restart policy format: maximum retry count can only be used with 'on-failure'"
        )
    return {"Name": name, "MaximumRetryCount": int(count)}


def update_body(opts: dict[str, Any]) -> dict[str, Any]:
    """The ``POST /containers/{id}/update`` body; CliError if no flag was given."""
    body: dict[str, Any] = {}
    given = 0
    for key, (field, kind) in _FIELDS.items():
        value = opts.get(key) or ""
        if value:
            given += 1
            body[field] = _parse(key, kind, value)
    restart = {"Name": "", "MaximumRetryCount": 0}
    if opts.get("restart"):
        given += 1
        restart = parse_restart(opts["restart"])
    if not given:
        raise CliError("you must provide one or more flags when using this command")
    body["RestartPolicy"] = restart
    return body


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._ctrutil import each_container

    body = update_body(opts)
    warnings: list[str] = []

    def op(name: str) -> None:
        doc = cli.client.post_json(f"/containers/{name}/update", None, body) or {}
        warnings.extend(doc.get("Warnings") or [])

    try:
        return each_container(cli, args, op)
    finally:
        for w in warnings:
            cli.err.write(w + "\n")
