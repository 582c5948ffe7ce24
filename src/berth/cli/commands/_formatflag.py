"""The ``--format`` flag as docker's commands describe it."""

from __future__ import annotations

from berth.cli.args import Flag

__all__ = ["FORMAT_FLAG"]

FORMAT_FLAG = Flag(
    "format,f",
    "string",
    help=(
        "Format output using a custom template:\n"
        "'json':             Print in JSON format\n"
        "'TEMPLATE':         Print output using the given Go template.\n"
        "Refer to docs/berthd.md for more information about formatting output with templates"
    ),
)
