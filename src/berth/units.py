"""Human-readable numbers as docker prints them (github.com/docker/go-units): the CLI
and the API (``ps``'s Status column) both use them."""

from __future__ import annotations

__all__ = ["bytes_size", "duration", "human_size"]

_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
_DECIMAL = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def bytes_size(size: float) -> str:
    """``23.54GiB``: binary units, four significant digits (units.BytesSize)."""
    i = 0
    while size >= 1024 and i < len(_BINARY) - 1:
        size /= 1024
        i += 1
    return f"{size:.4g}{_BINARY[i]}"


def human_size(size: float, precision: int = 3) -> str:
    """``1.98MB``: decimal units (units.HumanSizeWithPrecision; ``docker images`` uses 3)."""
    i = 0
    while size >= 1000 and i < len(_DECIMAL) - 1:
        size /= 1000
        i += 1
    return f"{size:.{precision}g}{_DECIMAL[i]}"


def duration(seconds: float) -> str:
    """``About an hour``, ``3 weeks`` (units.HumanDuration)."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds // 3600) // 24 // 365} years"
