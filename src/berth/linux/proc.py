"""procfs readers: is a process alive, and is it still the one we started.

A pid alone is not an identity: after exit the number is reused. Field 22 of
``/proc/<pid>/stat`` (starttime, in clock ticks since boot) together with the pid is.
See proc(5).
"""

from __future__ import annotations

__all__ = ["process_state", "start_time"]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    # comm (field 2) is in parentheses and may contain spaces and ')'.
    rest = data[data.rfind(")") + 2 :].split()
    return rest  # rest[0] is field 3 (state)


def start_time(pid: int) -> int | None:
    """starttime of ``pid``, or None when there is no such process."""
    f = _stat_fields(pid)
    return int(f[19]) if f else None


def process_state(pid: int, started: int | None = None) -> str | None:
    """The one-letter state of ``pid`` (R, S, D, Z, T …), or None when the process is gone
    or, given ``started``, is another process that reused the number."""
    f = _stat_fields(pid)
    if f is None:
        return None
    if started is not None and int(f[19]) != started:
        return None
    return f[0]
