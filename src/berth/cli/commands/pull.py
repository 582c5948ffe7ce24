"""``berth pull [-q] NAME[:TAG|@DIGEST]``: pull an image, printing the daemon's progress
as ``docker pull`` does (moby ``pkg/jsonmessage``): on a terminal one line per layer,
rewritten in place with its progress bar; elsewhere one line per layer status, the bars
left out. Then the reference pulled (cli/command/image/pull.go)."""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "Display", "render", "run"]

COMMAND = Command(
    "pull [OPTIONS] NAME[:TAG|@DIGEST]",
    "Download an image from a registry",
    [
        Flag("quiet,q", help="Suppress verbose output"),
        Flag("all-tags,a", help="Download all tagged images in the repository", hidden=True),
        Flag("platform", "string", help="Set platform if server is multi-platform capable", hidden=True),
    ],
    (1, 1),
    aliases=("berth image pull", "berth pull"),
)


def render(msg: dict[str, Any]) -> str | None:
    """The line docker prints for one message on a non-terminal, or None."""
    if msg.get("progressDetail", {}).get("current") is not None or msg.get("progress"):
        return None
    status = str(msg.get("status", ""))
    if msg.get("id"):
        return f"{msg['id']}: {status}"
    return status


class Display:
    """jsonmessage.DisplayJSONMessagesStream: messages with an id and a progress detail
    own a line each, updated by moving the cursor up to it; any other message starts
    afresh below them."""

    def __init__(self, out: Any, terminal: bool) -> None:
        self.out = out
        self.terminal = terminal
        self.ids: dict[str, int] = {}

    def show(self, msg: dict[str, Any]) -> None:
        if not self.terminal:
            line = render(msg)
            if line is not None:
                self.out.write(line + "\n")
                self.out.flush()
            return
        w = self.out.write
        mid = str(msg.get("id") or "")
        diff = 0
        if mid and "progressDetail" in msg:
            line_no = self.ids.get(mid)
            if line_no is None:
                line_no = self.ids[mid] = len(self.ids)
                w("\n")
            diff = len(self.ids) - line_no
            w(f"\x1b[{diff}A")
            w("\x1b[2K\r")
            w(f"{mid}: {msg.get('status', '')} {msg.get('progress', '')}".rstrip() + "\r")
            w(f"\x1b[{diff}B")
        else:
            self.ids = {}
            w((f"{mid}: " if mid else "") + str(msg.get("status", "")) + "\n")
        self.out.flush()

    def end(self) -> None:
        if self.terminal and self.ids:
            self.out.write("\n")
            self.ids = {}


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.cli.commands._registryauth import registry_auth
    from berth.oci.reference import parse_docker_ref

    name = args[0]
    try:
        ref = parse_docker_ref(name)
    except BerthError as exc:
        raise CliError(f"invalid reference format: {exc.message}" if "invalid reference" not in exc.message else exc.message) from None
    tag = ref.tag
    isatty = getattr(cli.out, "isatty", None)
    display = Display(cli.out, bool(isatty and isatty()))
    try:
        auth = registry_auth(ref.domain)
        for msg in cli.client.image_pull(str(ref.name_only()) if tag else str(ref), tag, auth):
            if msg.get("error"):
                display.end()
                raise CliError(str(msg.get("errorDetail", {}).get("message") or msg["error"]))
            if not opts["quiet"]:
                display.show(msg)
    except BerthError as exc:
        raise cli.error(exc) from None
    display.end()
    cli.out.write(ref.familiar_string() + "\n")
    return 0
