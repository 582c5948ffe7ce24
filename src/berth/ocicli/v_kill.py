"""``kill [--all] ID [SIGNAL]`` — SIGNAL as TERM, SIGTERM or 15 (default SIGTERM)."""

from __future__ import annotations

from berth.ocicli.args import Flag, parse
from berth.ocicli.main import need_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context

FLAGS = [Flag("all,a", help="send the specified signal to all processes inside the container")]


def run(ctx: Context, verb: str, args: list[str]) -> int:
    opts, rest = parse(args, FLAGS, verb)
    cid = need_id(verb, rest)
    from berth.runtime.container import kill, parse_signal

    sig = parse_signal(rest[1]) if len(rest) > 1 else 15
    kill(ctx.store(), cid, sig, bool(opts["all"]))
    return 0
