"""``update [--resources FILE|-] [--memory N --cpu-quota N …] ID`` — runc's flags; with
``--resources`` the other flags are ignored (as runc)."""

from __future__ import annotations

import sys

from berth.ocicli.args import Flag, parse, usage
from berth.ocicli.main import need_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context

FLAGS = [
    Flag("help,h", help="show help"),
    Flag("resources,r", "str", "", "path to the file containing the resources to update or '-' to read from the standard input"),
    Flag("blkio-weight", "int", 0, "specifies per cgroup weight, range is from 10 to 1000"),
    Flag("cpu-period", "str", "", "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"),
    Flag("cpu-quota", "str", "", "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"),
    Flag("cpu-burst", "str", "", "CPU CFS hardcap burst limit (in usecs)"),
    Flag("cpu-share,cpu-shares", "str", "", "CPU shares (relative weight vs. other containers)"),
    Flag("cpu-rt-period", "str", "", "CPU realtime period to be used for hardcapping (in usecs)"),
    Flag("cpu-rt-runtime", "str", "", "CPU realtime hardcap limit (in usecs)"),
    Flag("cpu-idle", "str", "", "set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE"),
    Flag("cpuset-cpus", "str", "", "CPU(s) to use"),
    Flag("cpuset-mems", "str", "", "memory node(s) to use"),
    Flag("memory", "str", "", "memory limit (in bytes)"),
    Flag("memory-reservation", "str", "", "memory reservation or soft_limit (in bytes)"),
    Flag("memory-swap", "str", "", "total memory usage (memory + swap); set '-1' to enable unlimited swap"),
    Flag("kernel-memory", "str", "", "(obsoleted; do not use)"),
    Flag("kernel-memory-tcp", "str", "", "(obsoleted; do not use)"),
    Flag("pids-limit", "int", 0, "maximum number of pids allowed in the container"),
    Flag("l3-cache-schema", "str", "", "the string of Intel RDT/CAT L3 cache schema (not supported)"),
    Flag("mem-bw-schema", "str", "", "the string of Intel RDT/MBA memory bandwidth schema (not supported)"),
]


def _read_resources(path: str) -> object:
    from berth.errdefs import InvalidArgument
    from berth.oci import fastjson

    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                raw = f.read()
    except OSError as exc:
        raise InvalidArgument(f"read resources {path!r}: {(exc.strerror or str(exc)).lower()}") from exc
    try:
        return fastjson.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"resources {'(stdin)' if path == '-' else repr(path)}: malformed JSON: {exc}") from exc


def run(ctx: Context, verb: str, args: list[str]) -> int:
    from berth.errdefs import InvalidArgument
    from berth.runtime.update import from_flags, update

    opts, rest = parse(args, FLAGS, verb)
    if opts["help"]:
        sys.stdout.write(usage(verb, "[command options] <container-id>", FLAGS))
        return 0
    cid = need_id(verb, rest)
    if len(rest) > 1:
        raise InvalidArgument(f'"{verb}" requires exactly 1 argument(s): the container id')
    if opts["resources"]:
        changes = _read_resources(opts["resources"])
    else:
        for flag in ("l3_cache_schema", "mem_bw_schema"):
            if opts[flag]:
                raise InvalidArgument(f"--{flag.replace('_', '-')}: Intel RDT is not supported by berth-runtime")
        for flag in ("kernel_memory", "kernel_memory_tcp"):
            if opts[flag]:
                ctx.log.warning(f"setting --{flag.replace('_', '-')} is ignored and will be removed")
        changes = from_flags(opts)
    if not isinstance(changes, dict):
        raise InvalidArgument(f"resources: {changes!r} is not an object")
    for w in update(ctx.store(), cid, changes):
        ctx.log.warning(w)
    return 0
