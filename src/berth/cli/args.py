"""Flags as the docker CLI parses them (spf13/pflag), and its help and usage errors.

``--name value``, ``--name=value``, ``-n value``, ``-nvalue``, grouped short booleans
(``-aq``), ``--bool=false``; repeatable flags collect values; ``--`` ends the flags;
flags may follow arguments unless the command stops at its first argument
(``interspersed=False``, as ``run`` and ``exec`` do for the container's command line).
argparse would cost ~9 ms of every start; this costs nothing.

Errors are :class:`UsageError` with docker's wording; the CLI prints them with the usage
line and exits 125 for a bad flag and 1 for bad arguments, as docker does.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Command", "Flag", "UsageError", "parse"]


class UsageError(Exception):
    """Bad command line. ``status`` is the exit code docker uses for it."""

    def __init__(self, message: str, status: int = 125) -> None:
        super().__init__(message)
        self.status = status


class Flag:
    """``names`` is ``"format,f"`` (long, then optional one-letter short); ``kind`` is
    ``bool``, ``string``, ``int`` or ``list`` (repeatable strings)."""

    __slots__ = ("default", "help", "hidden", "kind", "long", "metavar", "short")

    def __init__(
        self,
        names: str,
        kind: str = "bool",
        default: Any = None,
        help: str = "",
        metavar: str = "",
        hidden: bool = False,
    ) -> None:
        long, _, short = names.partition(",")
        self.long = long
        self.short = short
        self.kind = kind
        if default is None:
            default = {"bool": False, "list": [], "int": 0}.get(kind, "")
        self.default = default
        self.help = help
        self.metavar = metavar or ("" if kind == "bool" else kind)
        self.hidden = hidden

    @property
    def key(self) -> str:
        return self.long.replace("-", "_")


class Command:
    """A command's spec: ``use`` is docker's use line (``version [OPTIONS]``), ``nargs``
    the (min, max) number of arguments (max None: unlimited)."""

    __slots__ = ("aliases", "flags", "interspersed", "nargs", "short", "use")

    def __init__(
        self,
        use: str,
        short: str,
        flags: list[Flag] | None = None,
        nargs: tuple[int, int | None] = (0, 0),
        interspersed: bool = True,
        aliases: tuple[str, ...] = (),
    ) -> None:
        self.use = use
        self.short = short
        self.flags = list(flags or [])
        self.nargs = nargs
        self.interspersed = interspersed
        self.aliases = aliases


_TRUE = ("1", "t", "true", "TRUE", "True")
_FALSE = ("0", "f", "false", "FALSE", "False")


def _set(opts: dict[str, Any], f: Flag, value: str, shown: str) -> None:
    if f.kind == "bool":
        if value in _TRUE:
            opts[f.key] = True
        elif value in _FALSE:
            opts[f.key] = False
        else:
            raise UsageError(f'invalid argument "{value}" for "{shown}" flag: strconv.ParseBool: parsing "{value}": invalid syntax')
    elif f.kind == "int":
        try:
            opts[f.key] = int(value)
        except ValueError:
            raise UsageError(f'invalid argument "{value}" for "{shown}" flag: strconv.ParseInt: parsing "{value}": invalid syntax') from None
    elif f.kind == "list":
        opts[f.key].append(value)
    else:
        opts[f.key] = value


def _shown(f: Flag) -> str:
    return f"-{f.short}, --{f.long}" if f.short else f"--{f.long}"


def parse(argv: list[str], flags: list[Flag], interspersed: bool = True) -> tuple[dict[str, Any], list[str]]:
    """Options by key (``format``, ``log_level``) and the remaining arguments."""
    longs = {f.long: f for f in flags}
    shorts = {f.short: f for f in flags if f.short}
    opts: dict[str, Any] = {f.key: list(f.default) if f.kind == "list" else f.default for f in flags}
    args: list[str] = []
    i = 0
    n = len(argv)
    while i < n:
        a = argv[i]
        i += 1
        if a == "--":
            args += argv[i:]
            break
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            f = longs.get(name)
            if f is None:
                raise UsageError(f"unknown flag: --{name}")
            if eq:
                _set(opts, f, value, _shown(f))
            elif f.kind == "bool":
                opts[f.key] = True
            else:
                if i >= n:
                    raise UsageError(f"flag needs an argument: --{name}")
                _set(opts, f, argv[i], _shown(f))
                i += 1
            continue
        if a.startswith("-") and a != "-":
            j = 1
            while j < len(a):
                c = a[j]
                f = shorts.get(c)
                if f is None:
                    raise UsageError(f"unknown shorthand flag: '{c}' in {a}")
                rest = a[j + 1 :]
                if f.kind == "bool":
                    if rest.startswith("="):
                        _set(opts, f, rest[1:], _shown(f))
                        break
                    opts[f.key] = True
                    j += 1
                    continue
                if rest:
                    _set(opts, f, rest[1:] if rest.startswith("=") else rest, _shown(f))
                elif i < n:
                    _set(opts, f, argv[i], _shown(f))
                    i += 1
                else:
                    raise UsageError(f"flag needs an argument: '{c}' in -{c}")
                break
            continue
        args.append(a)
        if not interspersed:
            args += argv[i:]
            break
    return opts, args


def check_nargs(cmd: Command, path: str, args: list[str]) -> None:
    """docker's argument-count messages (cli/required.go)."""
    lo, hi = cmd.nargs
    if hi == 0 and args:
        raise UsageError(f"'{path}' accepts no arguments", 1)
    if len(args) < lo:
        if lo == hi:
            need = f"exactly {lo} argument{'s' if lo != 1 else ''}"
        else:
            need = f"at least {lo} argument{'s' if lo != 1 else ''}"
        raise UsageError(f"'{path}' requires {need}", 1)
    if hi is not None and len(args) > hi:
        if lo == hi:
            need = f"exactly {hi} argument{'s' if hi != 1 else ''}"
        else:
            need = f"at most {hi} argument{'s' if hi != 1 else ''}"
        raise UsageError(f"'{path}' requires {need}", 1)


def usage_line(path: str, cmd: Command) -> str:
    return f"Usage:  {path.rsplit(' ', 1)[0]} {cmd.use}" if " " in path else f"Usage:  {cmd.use}"


def _wrap(text: str, width: int) -> list[str]:
    out: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            if line and len(line) + 1 + len(word) > width:
                out.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        out.append(line)
    return out


def flags_help(flags: list[Flag]) -> list[str]:
    """The Options block: names, metavar, help wrapped at 80 columns like cobra's."""
    shown = [f for f in flags if not f.hidden]
    left = []
    for f in shown:
        names = f"-{f.short}, --{f.long}" if f.short else f"    --{f.long}"
        left.append(f"{names} {f.metavar}".rstrip())
    width = max((len(s) for s in left), default=0)
    lines = []
    for f, lhs in zip(shown, left, strict=True):
        text = f.help
        if f.kind not in ("bool", "list") and f.default not in ("", 0, None):
            text += f' (default "{f.default}")' if f.kind == "string" else f" (default {f.default})"
        wrapped = _wrap(text, max(20, 80 - width - 5))
        lines.append(f"  {lhs.ljust(width)}   {wrapped[0]}".rstrip())
        lines += [" " * (width + 5) + w for w in wrapped[1:]]
    return lines


def help_text(path: str, cmd: Command) -> str:
    parts = [usage_line(path, cmd), "", cmd.short]
    if cmd.aliases:
        parts += ["", "Aliases:", "  " + ", ".join(cmd.aliases)]
    if any(not f.hidden for f in cmd.flags):
        parts += ["", "Options:", *flags_help(cmd.flags)]
    return "\n".join(parts) + "\n"
