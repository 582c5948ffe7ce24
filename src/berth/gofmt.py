"""Go standard-library behaviours that Docker's messages, rules and output depend on
(berth's L0: pure, imports nothing of berth).

Docker is written in Go: its texts quote values with ``strconv.Quote`` (``%q``), print
string slices as ``%q`` does (``["a" "b"]``) and durations as ``time.Duration.String``,
clean paths with ``filepath.Clean`` and read durations with ``time.ParseDuration``.
Reproducing those exactly keeps berth's messages and results identical to Docker's,
in the CLI, the daemon and the builder alike.
"""

from __future__ import annotations

__all__ = ["format_duration", "go_clean", "go_quote", "parse_go_duration", "quote_list"]

_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_quote(s: str) -> str:
    """``strconv.Quote``: a double-quoted Go string literal (what ``%q`` prints)."""
    out = ['"']
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def go_clean(path: str) -> str:
    """``filepath.Clean`` on a slash-separated path: the shortest equivalent path.

    Unlike ``posixpath.normpath`` it keeps no leading ``//`` and turns ``""`` into ``.``.
    """
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(p)
    out = "/".join(parts)
    if rooted:
        return "/" + out
    return out or "."


_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def parse_go_duration(text: str) -> int:
    """``time.ParseDuration`` in nanoseconds (``1h30m``, ``1.5s``, ``-2ms``, ``0``).

    Raises ValueError with Go's message (``time: invalid duration "x"``).
    """
    quoted = go_quote(text)
    s = text
    neg = False
    if s[:1] in ("-", "+"):
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"time: invalid duration {quoted}")
    total = 0
    while s:
        if not (s[0] == "." or (s[0].isascii() and s[0].isdigit())):
            raise ValueError(f"time: invalid duration {quoted}")
        i = 0
        while i < len(s) and s[i].isascii() and s[i].isdigit():
            i += 1
        pre = i > 0
        whole = int(s[:i]) if pre else 0
        s = s[i:]
        frac, scale, post = 0, 1, False
        if s[:1] == ".":
            s = s[1:]
            i = 0
            while i < len(s) and s[i].isascii() and s[i].isdigit():
                i += 1
            post = i > 0
            if post:
                frac, scale = int(s[:i]), 10**i
            s = s[i:]
        if not pre and not post:
            raise ValueError(f"time: invalid duration {quoted}")
        i = 0
        while i < len(s) and not (s[i] == "." or (s[i].isascii() and s[i].isdigit())):
            i += 1
        if i == 0:
            raise ValueError(f"time: missing unit in duration {quoted}")
        unit_name, s = s[:i], s[i:]
        unit = _UNITS.get(unit_name)
        if unit is None:
            raise ValueError(f"time: unknown unit {go_quote(unit_name)} in duration {quoted}")
        total += whole * unit + frac * unit // scale
    if total > 2**63 - 1:
        raise ValueError(f"time: invalid duration {quoted}")
    return -total if neg else total


def quote_list(items: list[str] | tuple[str, ...]) -> str:
    """A string slice as Go's ``%q`` prints it: ``["/bin/sh" "-c" "echo hi"]``."""
    return "[" + " ".join(go_quote(x) for x in items) + "]"


def _trim(x: float) -> str:
    return f"{x:.9f}".rstrip("0").rstrip(".")


def format_duration(ns: int) -> str:
    """``time.Duration.String``: ``0s``, ``1.5s``, ``500ms``, ``1m30s``, ``1h0m0s``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return sign + _trim(ns / 1e3) + "µs"
    if ns < 1_000_000_000:
        return sign + _trim(ns / 1e6) + "ms"
    h, rest = divmod(ns, 3_600_000_000_000)
    m, rest = divmod(rest, 60_000_000_000)
    secs = _trim(rest / 1e9) + "s"
    if h:
        return f"{sign}{h}h{m}m{secs}"
    if m:
        return f"{sign}{m}m{secs}"
    return sign + secs
