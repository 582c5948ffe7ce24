"""``events [--stats] [--interval 5s] ID`` — JSON lines on stdout, as runc prints them."""

from __future__ import annotations

import sys

from berth.oci.fastjson import dumps
from berth.ocicli.args import Flag, parse, usage
from berth.ocicli.main import need_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.ocicli.main import Context

FLAGS = [
    Flag("help,h", help="show help"),
    Flag("interval", "str", "5s", "set the stats collection interval"),
    Flag("stats", help="display the container's stats then exit"),
]


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(dumps(event) + "\n")
    sys.stdout.flush()


def run(ctx: Context, verb: str, args: list[str]) -> int:
    from berth.errdefs import InvalidArgument
    from berth.runtime.events import parse_duration, stats_event, stream

    opts, rest = parse(args, FLAGS, verb)
    if opts["help"]:
        sys.stdout.write(usage(verb, "[command options] <container-id>", FLAGS))
        return 0
    cid = need_id(verb, rest)
    if len(rest) > 1:
        raise InvalidArgument(f'"{verb}" requires exactly 1 argument(s): the container id')
    interval = parse_duration(opts["interval"])
    if opts["stats"]:
        _emit(stats_event(ctx.store(), cid))
        return 0
    try:
        stream(ctx.store(), cid, interval, _emit)
    except BrokenPipeError:
        return 0
    return 0
