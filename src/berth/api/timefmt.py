"""Timestamps as Go's time.RFC3339Nano writes them: fraction without trailing zeros,
``Z`` for UTC or the zone offset (``2026-11-27T21:04:31.883916829Z``)."""

from __future__ import annotations

import time

__all__ = ["rfc3339nano"]


def rfc3339nano(ns: int, utc: bool = True) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    t = time.gmtime(secs) if utc else time.localtime(secs)
    out = time.strftime("%Y-%m-%dT%H:%M:%S", t)
    if frac:
        out += "." + f"{frac:09d}".rstrip("0")
    off = 0 if utc else t.tm_gmtoff
    if off == 0:
        return out + "Z"
    sign = "+" if off > 0 else "-"
    off = abs(off) // 60
    return f"{out}{sign}{off // 60:02d}:{off % 60:02d}"
