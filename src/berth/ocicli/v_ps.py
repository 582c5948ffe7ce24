"""``ps [--format table|json] ID [ps options]`` — table form runs ps(1) and keeps the
container's processes, as runc does."""

from __future__ import annotations

import sys

from berth.oci.fastjson import dumps
from berth.ocicli.args import Flag, parse
from berth.ocicli.main import need_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context

FLAGS = [Flag("format,f", "str", "table", "select one of: table or json")]


def run(ctx: Context, verb: str, args: list[str]) -> int:
    from berth.errdefs import InvalidArgument
    from berth.runtime.container import ps

    opts, rest = parse(args, FLAGS, verb)
    cid = need_id(verb, rest)
    pids = ps(ctx.store(), cid)
    if opts["format"] == "json":
        sys.stdout.write(dumps(pids) + "\n")
        return 0
    if opts["format"] != "table":
        raise InvalidArgument(f"invalid format option: {opts['format']}")
    import subprocess

    ps_args = rest[1:] or ["-ef"]
    out = subprocess.run(["ps", *ps_args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise InvalidArgument(f"ps {' '.join(ps_args)}: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    if not lines:
        return 0
    header = lines[0].split()
    if "PID" not in header:
        raise InvalidArgument("ps output has no PID column")
    col = header.index("PID")
    keep = set(pids)
    sys.stdout.write(lines[0] + "\n")
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in keep:
            sys.stdout.write(line + "\n")
    return 0
