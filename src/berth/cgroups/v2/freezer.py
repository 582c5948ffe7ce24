"""v2 freezer (cgroup-v2.rst "Core Interface Files": ``cgroup.freeze``, ``cgroup.events``;
Linux 5.2+). Every non-root group has it, whatever controllers are enabled.

Writing 1 to ``cgroup.freeze`` asks to freeze the group and its descendants; the freeze
is complete when ``cgroup.events`` shows ``frozen 1``, so :func:`freeze` polls for that
and thaws again on timeout.
"""

from __future__ import annotations

from berth.errdefs import Unavailable

from .._files import read_flat, read_optional, write

_TIMEOUT = 10.0
_MISSING = "the kernel has no cgroup v2 freezer (needs Linux 5.2)"


def freeze(path: str, timeout: float = _TIMEOUT) -> None:
    import time

    write(path, "cgroup.freeze", "1", "freeze", missing=_MISSING)
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while read_flat(path, "cgroup.events").get("frozen") != 1:
        if time.monotonic() > deadline:
            write(path, "cgroup.freeze", "0")
            raise Unavailable(f"freeze {path!r}: still freezing after {timeout:g}s, thawed again")
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


def thaw(path: str) -> None:
    write(path, "cgroup.freeze", "0", "thaw", missing=_MISSING)


def frozen(path: str) -> bool:
    if (read_optional(path, "cgroup.freeze") or "0").strip() != "1":
        return False
    return read_flat(path, "cgroup.events").get("frozen") == 1
