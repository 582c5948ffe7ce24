"""v2 ``pids`` controller (cgroup-v2.rst "PID"): ``pids.max`` (a number or ``max``) and
``pids.current``, the same files as v1, so the v1 module does the work.

OCI: config-linux.md "PIDs"; a limit of 0 or less is ``max``.
"""

from __future__ import annotations

from ..v1.pids import apply, stats

__all__ = ["apply", "stats"]
