"""Helpers shared by the container commands: ``--filter`` values, the per-container loop
that prints each name on success and collects errors (docker's ``errors.Join``: one
line per failure, exit 1), Go's ``strconv.Quote`` and the CLI's ``Ellipsis``."""

from __future__ import annotations

from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "each_container",
    "ellipsis",
    "filters_query",
    "parse_filters",
    "truncate_id",
]


def parse_filters(values: list[str]) -> dict[str, list[str]]:
    """``--filter k=v`` flags as docker's FilterOpt reads them (key lower-cased, both
    sides trimmed)."""
    out: dict[str, list[str]] = {}
    for f in values:
        key, eq, value = f.partition("=")
        if not eq:
            raise CliError(
                f'invalid argument "{f}" for "-f, --filter" flag: bad format of filter (expected name=value)',
                125,
            )
        out.setdefault(key.strip().lower(), []).append(value.strip())
    return out


def filters_query(filters: dict[str, list[str]]) -> str:
    """The ``filters`` JSON as Go marshals a map: keys and values sorted, map form."""
    from berth.api.filters import encode

    return encode({k: sorted(set(v)) for k, v in sorted(filters.items())})


def each_container(cli: Cli, names: list[str], op: Callable[[str], None], echo: bool = True) -> int:
    """Run ``op`` for every name; print the name after each success, every error on
    stderr once all are done; 1 if any failed."""
    errors: list[str] = []
    for name in names:
        try:
            op(name)
        except BerthError as exc:
            errors.append(str(cli.error(exc).args[0]))
            continue
        if echo:
            cli.out.write(name + "\n")
    if errors:
        raise CliError("\n".join(errors))
    return 0


def truncate_id(ident: str) -> str:
    """stringid.TruncateID: drop an ``algo:`` prefix, keep 12 characters."""
    _, _, rest = ident.rpartition(":")
    return rest[:12]


def ellipsis(s: str, width: int) -> str:
    """``s`` cut to ``width`` characters, the last one replaced by ``…`` when cut."""
    if width <= 0:
        return ""
    if len(s) <= width:
        return s
    if width == 1:
        return s[0]
    return s[: width - 1] + "…"

