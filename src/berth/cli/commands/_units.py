"""Value parsers shared by the container commands, worded as docker's CLI words them.

* sizes as ``go-units`` ``RAMInBytes`` (``512m``, ``1g``, ``1.5g``; binary multiples,
  case-insensitive, optional ``b``/``ib``),
* durations as Go's ``time.ParseDuration`` (``1m30s``, ``300ms``, ``1.5h``),
* timestamps for ``logs --since/--until`` as moby ``api/types/time.GetTimestamp``
  (RFC 3339 in several precisions, unix seconds with an optional fraction, or a
  duration before now).

Each parser raises :class:`ValueError` whose text is Go's message, so a caller can wrap
it as pflag does: ``invalid argument "x" for "-m, --memory" flag: <message>``.
"""

from __future__ import annotations

__all__ = ["go_duration", "ram_in_bytes", "rational_nanos", "timestamp"]

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(value: str) -> int:
    """``units.RAMInBytes``: ``"1.5g"`` → 1610612736; ``invalid size: 'x'`` otherwise."""
    s = value
    i = 0
    while i < len(s) and (s[i].isdigit() or (s[i] == "." and i > 0)):
        i += 1
    num, rest = s[:i], s[i:]
    if rest.startswith(" "):
        rest = rest[1:]
    low = rest.lower()
    unit = ""
    if low and low[0] in "kmgtp":
        unit, low = low[0], low[1:]
    if low.startswith("i") and unit:
        low = low[1:]
    if low in ("b", ""):
        low = ""
    if not num or num.endswith(".") or ".." in num or low or not num.isascii():
        raise ValueError(f"invalid size: '{value}'")
    return int(float(num) * _UNITS[unit])


def go_duration(value: str) -> int:
    """Go's ``time.ParseDuration``, in nanoseconds (ValueError with Go's message)."""
    from berth.gofmt import parse_go_duration

    return parse_go_duration(value)


def rational_nanos(value: str) -> int:
    """``--cpus``: a decimal or ``a/b`` number of CPUs as nano-CPUs (big.Rat)."""
    from fractions import Fraction

    try:
        cpus = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"failed to parse {value} as a rational number") from None
    nano = cpus * 1_000_000_000
    if nano.denominator != 1:
        raise ValueError("value is too precise")
    return int(nano)


def timestamp(value: str, now: float) -> str:
    """moby ``GetTimestamp``: the ``since``/``until`` query value. A duration counts back
    from ``now`` (whole seconds); RFC 3339 forms (date, hour, minutes, seconds, fraction;
    local time unless a zone is given) become ``secs.nanos``; a unix timestamp passes as is."""
    try:
        ns = go_duration(value)
    except ValueError:
        pass
    else:
        if value != "0":
            return str(int(now - ns / 1e9))
    try:
        return _rfc3339(value)
    except ValueError:
        if "-" in value:
            raise
    secs, dot, frac = value.partition(".")
    if not secs.isdigit() or (dot and not frac.isdigit()):
        raise ValueError(f'failed to parse value as time or duration: "{value}"')
    return value


def _rfc3339(value: str) -> str:
    import calendar
    import time

    s = value
    offset = 0
    zoned = False
    if s[-1:] in ("Z", "z"):
        s, zoned = s[:-1], True
    elif len(s) > 6 and s[-6] in "+-" and s[-3] == ":" and "T" in s:
        sign = 1 if s[-6] == "+" else -1
        offset = sign * (int(s[-5:-3]) * 3600 + int(s[-2:]) * 60)
        s, zoned = s[:-6], True
    _date, t, clock = s.partition("T")
    frac = ""
    if "." in clock:
        clock, frac = clock.split(".", 1)
    fmts = ["%Y-%m-%d", "%Y-%m-%dT%H", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
    pieces = len(clock.split(":")) if t else 0
    try:
        if pieces >= len(fmts) or (frac and not frac.isdigit()):
            raise ValueError
        tm = time.strptime(s.split(".")[0], fmts[pieces])
    except ValueError:
        raise ValueError(f'parsing time "{value}": cannot parse "{value}" as RFC 3339') from None
    secs = calendar.timegm(tm) - offset if zoned else int(time.mktime(tm))
    return f"{secs}.{frac.ljust(9, '0')[:9]}"
