"""``berth create [OPTIONS] IMAGE [COMMAND] [ARG...]`` (moby ``cli/command/container/
create.go``): the container is made, not started; its id is printed. A missing image is
pulled first (``--pull``), as ``run`` does. Daemon errors exit 1, bad flags 125."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.commands._container_opts import CONTAINER_FLAGS
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]


COMMAND = Command(
    "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
    "Create a new container",
    [f for f in CONTAINER_FLAGS if f.key not in ("detach", "sig_proxy", "detach_keys")],
    (1, None),
    interspersed=False,
    aliases=("berth container create", "berth create"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._create import PullError, create_container, daemon_message, request_from

    req = request_from(cli, opts, args, "create")
    try:
        cid = create_container(cli, req, opts.get("pull") or "missing", bool(opts.get("quiet")))
    except (BerthError, PullError) as exc:
        raise CliError(daemon_message(exc), 1) from None
    cli.out.write(cid + "\n")
    return 0
