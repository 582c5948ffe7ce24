"""Priming the kernel's cgroup attach lock so a container's first cgroup write is fast.

Every write to a ``cgroup.procs`` (v1 and v2) takes ``cgroup_threadgroup_rwsem`` for
writing, a per-cpu rwsem: its first writer after a quiet spell waits for an RCU grace
period (rcu_sync_enter → synchronize_rcu), 8-17 ms on this kind of machine, and writers
that follow within about a grace period of the last one pass at once (the rcu_sync state
is still "writer active"). A runtime moving a new container into its cgroup pays that
wait on the critical path of every ``run``.

:func:`prime` writes the calling process's own pid into the ``cgroup.procs`` of the
cgroup it already is in — a move to where it is, which changes nothing but takes the
lock — so that the grace period is paid off the critical path: berthd calls it from a
background thread as a container's start begins, and by the time the runtime writes the
container's pid, the lock is warm.
"""

from __future__ import annotations

import os

__all__ = ["prime"]


def _own_procs_file(proc_cgroup: str, root: str) -> str | None:
    try:
        with open(proc_cgroup) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        hid, controllers, path = [*line.split(":", 2), "", ""][:3]
        if hid == "0":
            candidates = [os.path.join(root, "unified"), root]
        else:
            name = controllers.removeprefix("name=")
            if not name:
                continue
            candidates = [os.path.join(root, name)]
        for base in candidates:
            procs = os.path.join(base, path.lstrip("/"), "cgroup.procs")
            if os.path.exists(procs):
                return procs
    return None


def prime(root: str = "/sys/fs/cgroup", proc_cgroup: str = "/proc/self/cgroup") -> bool:
    """Take the attach lock once (see the module docstring); False when there was no
    cgroup file to write (nothing happens then)."""
    procs = _own_procs_file(proc_cgroup, root)
    if procs is None:
        return False
    try:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    except OSError:
        return False
    return True
