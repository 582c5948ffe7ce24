"""``berth logs [OPTIONS] CONTAINER`` (moby ``cli/command/container/logs.go``).

As in traces ``logs.txt``, ``logs_tty.txt``, ``logs_f_timestamps.txt``: the container is
inspected first (its full id, and ``Config.Tty``: a TTY container's log is raw bytes, any
other's is multiplexed and split back onto stdout and stderr), then
``GET /containers/{id}/logs``. ``--since``/``--until`` take RFC 3339 times, unix
timestamps or durations before now (``10m``), converted here as the docker client does.
"""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "logs_query", "run"]

COMMAND = Command(
    "logs [OPTIONS] CONTAINER",
    "Fetch the logs of a container",
    [
        Flag("details", help="Show extra details provided to logs"),
        Flag("follow,f", help="Follow log output"),
        Flag("since", "string", help='Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)', metavar="string"),
        Flag("tail,n", "string", "all", "Number of lines to show from the end of the logs", metavar="string"),
        Flag("timestamps,t", help="Show timestamps"),
        Flag("until", "string", help='Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)', metavar="string"),
    ],
    (1, 1),
    aliases=("berth container logs", "berth logs"),
)


def logs_query(opts: dict[str, Any], now: float) -> dict[str, object]:
    """The query as the docker client encodes it (keys sorted, only what is set)."""
    from berth.cli.commands._units import timestamp

    q: dict[str, object] = {}
    if opts.get("details"):
        q["details"] = "1"
    if opts.get("follow"):
        q["follow"] = "1"
    for key in ("since", "until"):
        if opts.get(key):
            try:
                q[key] = timestamp(opts[key], now)
            except ValueError as exc:
                raise CliError(f'invalid value for "{key}": {exc}', 1) from None
    q["stderr"] = "1"
    q["stdout"] = "1"
    q["tail"] = opts.get("tail") or "all"
    if opts.get("timestamps"):
        q["timestamps"] = "1"
    order = ("details", "follow", "since", "stderr", "stdout", "tail", "timestamps", "until")
    return {k: q[k] for k in order if k in q}


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    import time

    from berth.cli.commands._create import stderr_bytes, stdout_bytes
    from berth.cli.commands._streams import OutputSink, StreamError

    try:
        c = cli.client.container_inspect(args[0])
        query = logs_query(opts, time.time())
        sink = OutputSink(stdout_bytes(cli), stderr_bytes(cli), bool((c.get("Config") or {}).get("Tty")))
        for data in cli.client.container_logs(str(c["Id"]), query):
            sink.write(data)
    except BerthError as exc:
        raise cli.error(exc) from None
    except StreamError as exc:
        raise CliError(f"Error: {exc}", 1) from None
    return 0
