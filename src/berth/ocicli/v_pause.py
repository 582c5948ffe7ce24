"""``pause ID`` and ``resume ID`` (the cgroup freezer)."""

from __future__ import annotations

from berth.ocicli.main import need_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context


def run(ctx: Context, verb: str, args: list[str]) -> int:
    cid = need_id(verb, args)
    from berth.runtime import container

    (container.pause if verb == "pause" else container.resume)(ctx.store(), cid)
    return 0
