"""``berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`` (cli/command/image/tag.go)."""

from __future__ import annotations

from berth.cli.args import Command
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "run"]

COMMAND = Command(
    "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    [],
    (2, 2),
    aliases=("berth image tag", "berth tag"),
)


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    from berth.oci.reference import parse_normalized_named

    source, target = args
    try:
        ref = parse_normalized_named(target)
    except BerthError as exc:
        raise CliError(exc.message) from None
    if ref.digest is not None:
        raise CliError("refusing to create a tag with a digest reference")
    try:
        cli.client.image_tag(source, str(ref.name_only()), ref.tag or "latest")
    except BerthError as exc:
        raise cli.error(exc) from None
    return 0
