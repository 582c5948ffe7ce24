"""``start ID``"""

from __future__ import annotations

from berth.ocicli.main import need_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context


def run(ctx: Context, verb: str, args: list[str]) -> int:
    cid = need_id(verb, args)
    from berth.runtime.container import start

    for w in start(ctx.store(), cid):
        ctx.log.warning(w)
    return 0
