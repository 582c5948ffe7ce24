"""Persistent network namespaces, made by berthd before a container starts.

A namespace lives as long as something holds it: a process in it, an open descriptor,
or a bind mount of its ``/proc/<pid>/ns/net`` file. berthd keeps each container's as a
bind mount at ``<exec_root>/netns/<id>`` (``ip netns`` keeps them under /run/netns the
same way), so the namespace exists before the container's process (the runtime joins it
by path) and after it (a restart gets the same one, as Docker's sandbox does).

The namespace is made by util-linux ``unshare --net=FILE`` (the bind mount) running
``ip link set lo up`` inside it: Docker brings loopback up even for ``--network none``.
Doing it in-process would need unshare(2) on one thread of a threaded daemon and a setns
back; a child process is simpler and costs a few milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import subprocess

from berth import errdefs
from berth.linux import syscalls as sc

__all__ = ["create", "remove"]


def create(path: str) -> str:
    """A new network namespace with loopback up, bound at ``path``."""
    os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)
    with open(path, "w"):
        pass
    p = subprocess.run(
        ["unshare", f"--net={path}", "ip", "link", "set", "lo", "up"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    if p.returncode != 0:
        remove(path)
        raise errdefs.Internal(f"create network namespace '{path}': {p.stderr.strip() or p.returncode}")
    return path


def remove(path: str) -> None:
    """Unbind and delete ``path``; a missing one is fine."""
    with contextlib.suppress(OSError):
        sc.default().umount2(path, sc.MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
