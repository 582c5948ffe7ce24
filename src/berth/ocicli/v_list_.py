"""``list [--format table|json] [--quiet]``"""

from __future__ import annotations

import os
import sys

from berth.oci.fastjson import dumps
from berth.ocicli.args import Flag, parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context

FLAGS = [
    Flag("format,f", "str", "table", "select one of: table or json"),
    Flag("quiet,q", help="display only container IDs"),
]


def run(ctx: Context, verb: str, args: list[str]) -> int:
    from berth.errdefs import InvalidArgument
    from berth.runtime.container import list_states

    opts, _ = parse(args, FLAGS, verb)
    states = list_states(ctx.store())
    if opts["quiet"]:
        sys.stdout.write("".join(s["id"] + "\n" for s in states))
        return 0
    if opts["format"] == "json":
        sys.stdout.write(dumps(states) + "\n")
        return 0
    if opts["format"] != "table":
        raise InvalidArgument(f"invalid format option: {opts['format']}")
    rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
    for s in states:
        owner = s.get("owner") or _owner(s["bundle"])
        rows.append((s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], owner))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for r in rows:
        sys.stdout.write("   ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() + "\n")
    return 0


def _owner(bundle: str) -> str:
    try:
        uid = os.stat(bundle).st_uid
    except OSError:
        return ""
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"
