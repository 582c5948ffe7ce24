"""``berth stop [-s SIGNAL] [-t SECONDS] CONTAINER...`` (cli/command/container/stop.go).

``-t`` is sent as ``t``; the signal only to daemons speaking API 1.42 or later, as the
moby client does (older daemons do not know the parameter)."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run", "stop_query"]

COMMAND = Command(
    "stop [OPTIONS] CONTAINER [CONTAINER...]",
    "Stop one or more running containers",
    [
        Flag("signal,s", "string", help="Signal to send to the container"),
        Flag(
            "time,t", "string", help="Seconds to wait before killing the container", metavar="int"
        ),
    ],
    (1, None),
    aliases=("berth container stop", "berth stop"),
)


def stop_query(signal: str, timeout: str, api_version: str) -> dict[str, str]:
    """``signal`` (API ≥ 1.42 only) and ``t``, sorted as Go encodes them."""
    from berth.api.wire import compare_versions
    from berth.cli.context import CliError

    q: dict[str, str] = {}
    if signal and compare_versions(api_version, "1.42") >= 0:
        q["signal"] = signal
    if timeout:
        try:
            q["t"] = str(int(timeout))
        except ValueError:
            raise CliError(
                f'invalid argument "{timeout}" for "-t, --time" flag: strconv.ParseInt: parsing "{timeout}": invalid syntax',
                125,
            ) from None
    return q


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._simple import post_each

    query = stop_query(opts["signal"], opts["time"], cli.client.api_version)
    return post_each(cli, args, "stop", query)
