"""Human-readable numbers for the CLI: :mod:`berth.units` (go-units), re-exported."""

from __future__ import annotations

from berth.units import bytes_size, duration, human_size

__all__ = ["bytes_size", "duration", "human_size"]
