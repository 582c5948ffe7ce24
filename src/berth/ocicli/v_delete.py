"""``delete [--force] ID``"""

from __future__ import annotations

from berth.ocicli.args import Flag, parse
from berth.ocicli.main import need_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context

FLAGS = [Flag("force,f", help="forcibly deletes the container if it is still running (uses SIGKILL)")]


def run(ctx: Context, verb: str, args: list[str]) -> int:
    opts, rest = parse(args, FLAGS, verb)
    cid = need_id(verb, rest)
    from berth.runtime.container import delete

    for w in delete(ctx.store(), cid, bool(opts["force"])):
        ctx.log.warning(w)
    return 0
