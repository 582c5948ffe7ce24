"""``berth events [--since T] [--until T] [--filter k=v]... [--format …]``
(cli/command/system/events.go): ``GET /events``, one JSON message per line, printed as
they come. The default line is ``<RFC3339 time with 9 fraction digits> <Type> <Action>
<Actor.ID> (<sorted attributes>)``; without ``--until`` the stream lasts until
interrupted."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "event_line", "events_query", "run"]

COMMAND = Command(
    "events [OPTIONS]",
    "Get real time events from the server",
    [
        Flag(
            "filter,f", "list", help="Filter output based on conditions provided", metavar="filter"
        ),
        Flag("format", "string", help="Format output using a custom template"),
        Flag("since", "string", help="Show all events created since timestamp"),
        Flag("until", "string", help="Stream events until this timestamp"),
    ],
    (0, 0),
    aliases=("berth system events", "berth events"),
)


def _fixed_nano(ns: int) -> str:
    """jsonmessage.RFC3339NanoFixed in local time: ``2006-01-02T15:04:05.000000000Z07:00``."""
    import time

    secs, frac = divmod(ns, 1_000_000_000)
    t = time.localtime(secs)
    off = t.tm_gmtoff or 0
    zone = (
        "Z"
        if off == 0
        else f"{'+' if off > 0 else '-'}{abs(off) // 3600:02d}:{abs(off) % 3600 // 60:02d}"
    )
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{frac:09d}" + zone


def event_line(ev: dict[str, Any]) -> str:
    """One message as docker prints it without ``--format``."""
    out = ""
    if ev.get("timeNano"):
        out = _fixed_nano(int(ev["timeNano"])) + " "
    elif ev.get("time"):
        out = _fixed_nano(int(ev["time"]) * 1_000_000_000) + " "
    actor = ev.get("Actor") or {}
    out += f"{ev.get('Type', '')} {ev.get('Action', '')} {actor.get('ID', '')}"
    attrs = actor.get("Attributes") or {}
    if attrs:
        out += " (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")"
    return out + "\n"


def events_query(since: str, until: str, filters: str, now: float) -> dict[str, str]:
    """``filters``, ``since``, ``until`` (GetTimestamp applied to the times)."""
    from berth.cli.commands._units import timestamp

    q: dict[str, str] = {}
    if filters:
        q["filters"] = filters
    try:
        if since:
            q["since"] = timestamp(since, now)
        if until:
            q["until"] = timestamp(until, now)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return q


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    import time

    from berth.cli.commands._ctrutil import filters_query, parse_filters
    from berth.cli.format import FormatError, Template

    tmpl = None
    if opts["format"]:
        try:
            tmpl = Template(opts["format"])
        except FormatError as exc:
            raise CliError(str(exc), exc.status) from None
    query = events_query(
        opts["since"], opts["until"], filters_query(parse_filters(opts["filter"])), time.time()
    )
    try:
        resp = cli.client.request("GET", "/events", query or None)
        for ev in cli.client.json_messages(resp):
            if ev.get("error"):
                raise CliError(str(ev["error"]))
            if tmpl is None:
                cli.out.write(event_line(ev))
            else:
                try:
                    cli.out.write(tmpl.execute(ev) + "\n")
                except FormatError as exc:
                    raise CliError(str(exc), exc.status) from None
            cli.out.flush()
    except BerthError as exc:
        raise cli.error(exc) from None
    return 0
