"""Times as Docker writes them, without :mod:`datetime` (the shim imports this).

Times are integers: nanoseconds since the Unix epoch, UTC. Go's ``time.RFC3339Nano``
(the log file) trims trailing zeros of the fraction and drops an all-zero one; moby's
``RFC3339NanoFixed`` (``docker logs -t``) always prints nine digits.
"""

from __future__ import annotations

import time

__all__ = ["format_fixed", "format_nano", "now_rfc3339", "parse_time"]


def _base(ns: int) -> tuple[str, int]:
    sec, frac = divmod(ns, 1_000_000_000)
    t = time.gmtime(sec)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}",
        frac,
    )


def format_nano(ns: int) -> str:
    """``2026-11-27T21:05:05.301887Z`` (Go's RFC3339Nano in UTC)."""
    base, frac = _base(ns)
    if not frac:
        return base + "Z"
    return base + "." + f"{frac:09d}".rstrip("0") + "Z"


def format_fixed(ns: int) -> str:
    """``2026-11-27T21:05:05.301887000Z`` (moby's RFC3339NanoFixed)."""
    base, frac = _base(ns)
    return f"{base}.{frac:09d}Z"


def _days_from_civil(y: int, m: int, d: int) -> int:
    # Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date.
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_time(s: str) -> int:
    """Parse an RFC 3339 time (``Z`` or ``±hh:mm``, any fraction) into ns since the epoch."""
    try:
        if (
            len(s) < 20
            or s[4] != "-"
            or s[7] != "-"
            or s[10] not in "Tt"
            or s[13] != ":"
            or s[16] != ":"
        ):
            raise ValueError
        y, mo, d = int(s[0:4]), int(s[5:7]), int(s[8:10])
        h, mi, se = int(s[11:13]), int(s[14:16]), int(s[17:19])
        rest = s[19:]
        frac = 0
        if rest.startswith("."):
            i = 1
            while i < len(rest) and rest[i].isdigit():
                i += 1
            digits = rest[1:i]
            if not digits:
                raise ValueError
            frac = int((digits + "000000000")[:9])
            rest = rest[i:]
        if rest in ("Z", "z"):
            off = 0
        elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
            off = (int(rest[1:3]) * 60 + int(rest[4:6])) * 60
            if rest[0] == "-":
                off = -off
        else:
            raise ValueError
        if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and se < 61):
            raise ValueError
    except (ValueError, IndexError):
        raise ValueError(f"parse time {s!r}: not RFC 3339") from None
    secs = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off
    return secs * 1_000_000_000 + frac


def now_rfc3339() -> str:
    """Now, as Docker writes times: RFC 3339 in UTC with nanoseconds."""
    return format_nano(time.time_ns())
