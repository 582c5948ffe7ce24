"""``checkpoint`` / ``restore``: not supported (berth-runtime has no CRIU integration)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context


def run(ctx: Context, verb: str, args: list[str]) -> int:

    raise NotImplementedError(f"{verb}: checkpoint/restore is not supported by berth-runtime (no CRIU integration)")
