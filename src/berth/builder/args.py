"""Reading the arguments of Dockerfile instructions, as Docker does (buildkit's
``parser/line_parsers.go`` and ``instructions/parse.go``; ``go-connections/nat`` for
EXPOSE).

* **ENV, LABEL** — ``key=value`` pairs, several per line, values quoted as in a shell
  (``LABEL "com.example.vendor"="ACME Incorporated"``, ``ENV MY_NAME="John Doe"``); or the
  legacy single pair ``ENV key the rest of the line`` (first word without ``=``). Keys and
  values go through the expander (quotes and escapes removed, ``$VAR`` substituted).
* **ARG** — ``name`` or ``name=default``; several per line.
* **HEALTHCHECK** — ``NONE`` or ``[--interval=D] [--timeout=D] [--start-period=D]
  [--start-interval=D] [--retries=N] CMD command``; durations are Go durations (``30s``,
  ``1m30s``), 0 meaning "inherit the default".
* **EXPOSE** — ``port[/proto]`` or ``start-end[/proto]``, proto tcp (default), udp or sctp.
* **COPY, ADD** — sources then the destination (last argument).
* ``--chmod`` — an octal mode up to 07777.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from berth import errdefs
from berth.builder.expand import Lexer
from berth.gofmt import go_quote, parse_go_duration

if TYPE_CHECKING:
    from berth.builder.dockerfile import Instruction

__all__ = [
    "parse_arg",
    "parse_chmod",
    "parse_copy_sources",
    "parse_expose",
    "parse_healthcheck",
    "parse_kv",
    "parse_words",
    "split_kv",
]

_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_MINIMUM_DURATION_NS = 1_000_000  # container.MinimumDuration: 1ms
_PROTOS = ("tcp", "udp", "sctp")


def parse_words(rest: str, escape: str = "\\") -> list[str]:
    """Split on blanks outside quotes, keeping the quotes and escapes (parseWords).

    ``a="b c" d`` is ``['a="b c"', 'd']``; the expander removes the quotes later.
    """
    words: list[str] = []
    buf: list[str] = []
    phase = "spaces"
    quote = ""
    blank_ok = False
    pos, n = 0, len(rest)
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == "spaces":
            if pos == n:
                break
            if ch.isspace():
                pos += 1
                continue
            phase = "word"
        if pos == n:
            if blank_ok or buf:
                words.append("".join(buf))
            break
        if phase == "word":
            if ch.isspace():
                phase = "spaces"
                if blank_ok or buf:
                    words.append("".join(buf))
                buf, blank_ok = [], False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote, blank_ok, phase = ch, True, "quote"
            if ch == escape:
                if pos + 1 == n:
                    pos += 1  # an escape at the very end is dropped
                    continue
                buf.append(ch)
                pos += 1
                ch = rest[pos]
            buf.append(ch)
            pos += 1
            continue
        if ch == quote:
            phase = "word"
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = "word"
                pos += 1
                continue
            pos += 1
            buf.append(ch)
            ch = rest[pos]
        buf.append(ch)
        pos += 1
    return words


def split_kv(cmd: str, rest: str, escape: str = "\\") -> list[tuple[str, str]]:
    """ENV/LABEL text as raw (key, value) pairs, quotes still in (parseNameVal)."""
    words = parse_words(rest, escape)
    if not words:
        return []
    if "=" not in words[0]:
        parts = _WHITESPACE.split(rest.strip(), maxsplit=1)
        if len(parts) < 2:
            raise errdefs.InvalidArgument(f"{cmd} must have two arguments")
        return [(parts[0], parts[1])]
    pairs = []
    for word in words:
        if "=" not in word:
            raise errdefs.InvalidArgument(
                f"Syntax error - can't find = in {go_quote(word)}. Must be of the form: name=value"
            )
        key, _, value = word.partition("=")
        pairs.append((key, value))
    return pairs


def parse_kv(instr: Instruction, env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """ENV or LABEL pairs, in order, keys and values expanded.

    With ``env`` the variables are substituted; without, quotes and escapes are still
    removed but ``$VAR`` references are left as written.
    """
    rest = instr.args[0] if instr.args else ""
    pairs = split_kv(instr.cmd, rest, instr.escape)
    if not pairs:
        raise errdefs.InvalidArgument(f"{instr.cmd} requires at least one argument")
    if any(not key for key, _ in pairs):
        raise errdefs.InvalidArgument(f"{instr.cmd} names can not be blank")
    lexer = Lexer(env if env is not None else {}, instr.escape, skip_unset=env is None)
    return [(lexer.process(k)[0], lexer.process(v)[0]) for k, v in pairs]


def parse_arg(instr: Instruction) -> list[tuple[str, str | None]]:
    """ARG's (name, default) pairs; default None when none is given, raw (not expanded)."""
    if not instr.args:
        raise errdefs.InvalidArgument("ARG requires at least one argument")
    out: list[tuple[str, str | None]] = []
    for word in instr.args:
        if "=" in word:
            name, _, default = word.partition("=")
            if not name:
                raise errdefs.InvalidArgument("ARG names can not be blank")
            out.append((name, default))
        else:
            out.append((word, None))
    return out


def _interval(instr: Instruction, name: str) -> int:
    value = instr.flag(name) or ""
    if not value:
        return 0
    try:
        ns = parse_go_duration(value)
    except ValueError as exc:
        raise errdefs.InvalidArgument(str(exc)) from None
    if ns == 0:
        return 0
    if ns < _MINIMUM_DURATION_NS:
        raise errdefs.InvalidArgument(f"Interval {go_quote(name)} cannot be less than 1ms")
    return ns


def parse_healthcheck(instr: Instruction) -> dict[str, Any]:
    """HEALTHCHECK as the image config's Healthcheck: ``test`` (``["NONE"]``,
    ``["CMD", …]`` or ``["CMD-SHELL", "…"]``), ``interval``, ``timeout``,
    ``start_period``, ``start_interval`` (nanoseconds, 0 when not given), ``retries``."""
    args = instr.args
    if not args:
        raise errdefs.InvalidArgument("HEALTHCHECK requires at least one argument")
    typ = args[0].upper()
    rest = list(args[1:])
    health: dict[str, Any] = {
        "test": [],
        "interval": 0,
        "timeout": 0,
        "start_period": 0,
        "start_interval": 0,
        "retries": 0,
    }
    if typ == "NONE":
        if rest:
            raise errdefs.InvalidArgument("HEALTHCHECK NONE takes no arguments")
        health["test"] = ["NONE"]
        return health
    if typ != "CMD":
        raise errdefs.InvalidArgument(f"Unknown type {go_quote(typ)} in HEALTHCHECK (try CMD)")
    command = rest if instr.json else ([" ".join(rest)] if rest else [])
    if not command:
        raise errdefs.InvalidArgument("Missing command after HEALTHCHECK CMD")
    health["test"] = ["CMD" if instr.json else "CMD-SHELL", *command]
    health["interval"] = _interval(instr, "interval")
    health["timeout"] = _interval(instr, "timeout")
    health["start_period"] = _interval(instr, "start-period")
    health["start_interval"] = _interval(instr, "start-interval")
    retries = instr.flag("retries") or ""
    if retries:
        if not re.fullmatch(r"[+-]?[0-9]+", retries):
            raise errdefs.InvalidArgument(
                f"strconv.ParseInt: parsing {go_quote(retries)}: invalid syntax"
            )
        n = int(retries)
        if not -(2**31) <= n < 2**31:
            raise errdefs.InvalidArgument(
                f"strconv.ParseInt: parsing {go_quote(retries)}: value out of range"
            )
        if n < 1:
            raise errdefs.InvalidArgument(f"--retries must be at least 1 (not {n})")
        health["retries"] = n
    return health


def _port_number(text: str) -> int | None:
    if not re.fullmatch(r"[0-9]+", text):
        return None
    n = int(text)
    return n if n <= 65535 else None


def parse_expose(words: Sequence[str]) -> list[str]:
    """EXPOSE words (already expanded) as ``port/proto`` keys, ranges spelled out.

    ``["80", "443/TCP", "8000-8001/udp"]`` is ``["80/tcp", "443/tcp", "8000/udp",
    "8001/udp"]``; duplicates are dropped.
    """
    out: list[str] = []
    for raw in words:
        container = raw.split(":")[-1]
        parts = container.split("/")
        if not container or not parts[0]:
            proto, port = "", ""
        elif len(parts) == 1 or not parts[1]:
            proto, port = "tcp", parts[0]
        else:
            proto, port = parts[1], parts[0]
        if not port:
            raise errdefs.InvalidArgument(f"no port specified: {raw}<empty>")
        lo_text, dash, hi_text = port.partition("-")
        lo = _port_number(lo_text)
        hi = _port_number(hi_text.split("-")[0]) if dash else lo
        if lo is None or hi is None or hi < lo:
            raise errdefs.InvalidArgument(f"invalid containerPort: {port}")
        if proto.lower() not in _PROTOS:
            raise errdefs.InvalidArgument(f"invalid proto: {proto}")
        for p in range(lo, hi + 1):
            key = f"{p}/{proto.lower()}"
            if key not in out:
                out.append(key)
    return out


def parse_copy_sources(instr: Instruction) -> tuple[list[str], str]:
    """COPY/ADD (sources, destination), from the JSON array or the words (not expanded)."""
    if len(instr.args) < 2:
        raise errdefs.InvalidArgument(
            f"{instr.cmd} requires at least two arguments, but only one was provided. Destination could not be determined."
        )
    return list(instr.args[:-1]), instr.args[-1]


def parse_chmod(value: str) -> int:
    """``--chmod`` as a mode: octal digits only, at most 07777."""
    if re.fullmatch(r"[0-7]+", value) and int(value, 8) <= 0o7777:
        return int(value, 8)
    raise errdefs.InvalidArgument(
        f"invalid chmod parameter: '{value}'. it should be octal string and between 0 and 07777"
    )
