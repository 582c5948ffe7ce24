"""v1 ``freezer`` controller (Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst).

``freezer.state`` takes ``FROZEN`` or ``THAWED``; reading it may show ``FREEZING`` until
every task has stopped, so :func:`freeze` polls until it reads ``FROZEN``, writing the
request again now and then (a task forked while freezing can escape the first pass, as
runc's loop assumes). If the group does not freeze in time it is thawed again and the
error says so: a half-frozen container is worse than a running one.
"""

from __future__ import annotations

from berth.errdefs import Unavailable

from .._files import read, write

_TIMEOUT = 10.0


def state(path: str) -> str:
    """``FROZEN``, ``FREEZING`` or ``THAWED``."""
    return read(path, "freezer.state").strip()


def freeze(path: str, timeout: float = _TIMEOUT) -> None:
    import time

    deadline = time.monotonic() + timeout
    delay = 0.0005
    tries = 0
    while True:
        if tries % 50 == 0:
            write(path, "freezer.state", "FROZEN")
        tries += 1
        if state(path) == "FROZEN":
            return
        if time.monotonic() > deadline:
            write(path, "freezer.state", "THAWED")
            raise Unavailable(f"freeze {path!r}: still freezing after {timeout:g}s, thawed again")
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


def thaw(path: str) -> None:
    write(path, "freezer.state", "THAWED")


def frozen(path: str) -> bool:
    return state(path) == "FROZEN"
