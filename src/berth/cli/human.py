"""Human-readable numbers as docker prints them (github.com/docker/go-units)."""

from __future__ import annotations

__all__ = ["bytes_size"]

_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def bytes_size(size: float) -> str:
    """``23.54GiB``: binary units, four significant digits (units.BytesSize)."""
    i = 0
    while size >= 1024 and i < len(_BINARY) - 1:
        size /= 1024
        i += 1
    return f"{size:.4g}{_BINARY[i]}"
