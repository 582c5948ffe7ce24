"""v1 ``cpuacct`` controller: CPU usage accounting (cgroup-v1/cpuacct.rst).

- ``cpuacct.usage``: total CPU time in ns; ``cpuacct.usage_percpu``: per CPU, ns;
  ``cpuacct.usage_percpu_sys`` / ``_user`` (Linux 4.7+): per CPU split;
- ``cpuacct.stat``: ``user`` and ``system`` in USER_HZ ticks, converted to ns as runc
  does.

Nothing to apply: there are no limits.
"""

from __future__ import annotations

import os

from .._files import read_flat, read_optional, read_uint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_NS = 1_000_000_000


def _list(path: str, name: str) -> list[int]:
    text = read_optional(path, name)
    return [int(v) for v in text.split()] if text else []


def stats(path: str) -> dict[str, Any]:
    """The ``usage`` part of the cpu stats."""
    ticks = os.sysconf("SC_CLK_TCK") or 100
    st = read_flat(path, "cpuacct.stat")
    return {
        "total": read_uint(path, "cpuacct.usage", 0),
        "percpu": _list(path, "cpuacct.usage_percpu"),
        "percpu_kernel": _list(path, "cpuacct.usage_percpu_sys"),
        "percpu_user": _list(path, "cpuacct.usage_percpu_user"),
        "kernel": st.get("system", 0) * _NS // ticks,
        "user": st.get("user", 0) * _NS // ticks,
    }
