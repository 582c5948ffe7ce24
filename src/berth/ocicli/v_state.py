"""``state ID`` — the OCI state JSON, indented as runc prints it."""

from __future__ import annotations

import sys

from berth.oci.fastjson import dumps_indent
from berth.ocicli.main import need_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context


def run(ctx: Context, verb: str, args: list[str]) -> int:
    cid = need_id(verb, args)
    from berth.runtime.container import state

    sys.stdout.write(dumps_indent(state(ctx.store(), cid)) + "\n")
    return 0
