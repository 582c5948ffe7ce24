"""Start paying a cgroup move's fixed cost before we know where the process goes.

Moving a process between cgroups (a write to ``cgroup.procs``) takes the kernel's global
``cgroup_threadgroup_rwsem`` for writing. That percpu rwsem is guarded by an rcu_sync:
the first writer after a quiet spell waits a full RCU grace period (~10 ms on this kind
of machine), writers soon after one another do not (kernel/rcu/sync.c). A runtime moves
exactly one process per container, so every ``create`` would wait that grace period on
its critical path.

:func:`start` re-writes our own pid into our own cgroup — a move to where we already are,
which changes nothing — from a thread (the write releases the GIL), right at the start of
``create``. By the time the container's init is moved, the grace period has been waited
in parallel with reading the bundle and forking. Failure is silent: it only costs time.
"""

from __future__ import annotations

import os

__all__ = ["start"]


def _own_procs_file(root: str) -> str | None:
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, ctrls, path = parts
        if ctrls == "":
            d = os.path.join(root, "unified") if os.path.isdir(os.path.join(root, "unified")) else root
        elif ctrls.startswith("name="):
            continue
        else:
            d = os.path.join(root, ctrls.split(",")[0])
        procs = os.path.join(d, path.lstrip("/"), "cgroup.procs")
        if os.path.exists(procs):
            return procs
    return None


def _write(path: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)
    except OSError:
        pass


def start(root: str = "/sys/fs/cgroup") -> None:
    """Kick off the no-op move in a background thread (``_thread``: no import cost)."""
    path = _own_procs_file(root)
    if path is None:
        return
    import _thread

    _thread.start_new_thread(_write, (path,))
