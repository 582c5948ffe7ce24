"""A small flag parser with urfave/cli's rules, which runc's callers rely on.

``--flag value``, ``--flag=value``, ``-flag value`` and short aliases (``-b``) all work;
boolean flags take no value (``--detach``) or an explicit one (``--detach=false``);
parsing stops at the first argument that is not a flag, or after ``--``. argparse would
cost ~2 ms to import; this costs nothing.
"""

from __future__ import annotations

from berth.errdefs import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Flag", "parse"]


class Flag:
    __slots__ = ("default", "help", "kind", "names")

    def __init__(self, names: str, kind: str = "bool", default: Any = None, help: str = "") -> None:
        self.names = names.split(",")
        self.kind = kind  # bool | str | int | list
        self.default: Any = default if default is not None else ([] if kind == "list" else (False if kind == "bool" else None))
        self.help = help

    @property
    def key(self) -> str:
        return self.names[0].replace("-", "_")


_TRUE = ("1", "t", "true", "y", "yes")
_FALSE = ("0", "f", "false", "n", "no", "")


def parse(argv: list[str], flags: list[Flag], verb: str) -> tuple[dict[str, Any], list[str]]:
    by_name: dict[str, Flag] = {}
    for f in flags:
        for n in f.names:
            by_name[n] = f
    opts: dict[str, Any] = {f.key: (list(f.default or []) if f.kind == "list" else f.default) for f in flags}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if not a.startswith("-") or a == "-":
            break
        name, eq, value = a.lstrip("-").partition("=")
        found = by_name.get(name)
        if found is None:
            raise InvalidArgument(f"{verb}: flag provided but not defined: -{name}")
        f = found
        if f.kind == "bool":
            if eq:
                if value.lower() not in _TRUE + _FALSE:
                    raise InvalidArgument(f"{verb}: invalid boolean value {value!r} for -{name}")
                opts[f.key] = value.lower() in _TRUE
            else:
                opts[f.key] = True
            i += 1
            continue
        if not eq:
            if i + 1 >= len(argv):
                raise InvalidArgument(f"{verb}: flag needs an argument: -{name}")
            value = argv[i + 1]
            i += 2
        else:
            i += 1
        if f.kind == "int":
            try:
                opts[f.key] = int(value)
            except ValueError:
                raise InvalidArgument(f"{verb}: invalid value {value!r} for flag -{name}: not a number") from None
        elif f.kind == "list":
            opts[f.key].append(value)
        else:
            opts[f.key] = value
    return opts, argv[i:]


def usage(verb: str, synopsis: str, flags: list[Flag]) -> str:
    lines = [f"usage: berth-runtime {verb} {synopsis}".rstrip(), ""]
    for f in flags:
        names = ", ".join(("-" if len(n) == 1 else "--") + n for n in f.names)
        arg = "" if f.kind == "bool" else " value"
        lines.append(f"   {names}{arg}\t{f.help}")
    return "\n".join(lines) + "\n"
