"""Parent cgroups an engine made for its containers (berthd's ``/berth``): a runtime
removes a container's own cgroup on delete, the parent stays. :func:`remove_empty`
takes such a parent away in every mounted hierarchy — v1 controllers, named ones such as
``name=systemd``, and cgroup2 — when nothing is left in it; a parent still in use (a
child cgroup, a process) stays, since the kernel refuses to remove it (EBUSY)."""

from __future__ import annotations

import contextlib
import os

from berth.cgroups.setup import _unescape

__all__ = ["cgroup_mounts", "remove_empty"]


def cgroup_mounts(mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """Mount points of every cgroup and cgroup2 file system (proc(5) mountinfo)."""
    try:
        with open(mountinfo) as f:
            text = f.read()
    except OSError:
        return []
    out: list[str] = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if sep and len(fields) >= 5 and tail and tail[0] in ("cgroup", "cgroup2"):
            point = _unescape(fields[4])
            if point not in out:
                out.append(point)
    return out


def remove_empty(relative: str, mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """rmdir ``relative`` (e.g. ``/berth``) under each cgroup mount where it exists and
    is empty; the paths removed."""
    rel = relative.strip("/")
    if not rel:
        return []
    removed = []
    for point in cgroup_mounts(mountinfo):
        path = os.path.join(point, rel)
        with contextlib.suppress(OSError):
            os.rmdir(path)
            removed.append(path)
    return removed
