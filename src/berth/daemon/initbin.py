"""The init binary for ``--init`` (Docker's ``docker-init``): a static tini, so it runs in
any image, with or without a libc. berthd finds it at start and the container service
bind-mounts it read-only at ``/sbin/docker-init`` in front of the container's command
(``/sbin/docker-init -- path args…``, as dockerd does). scripts/install.sh installs
Debian's ``tini`` package, which ships ``/usr/bin/tini-static``."""

from __future__ import annotations

import os
import shutil

__all__ = ["CANDIDATES", "find_init"]

# a static build first: a dynamic tini fails in images without a matching libc
CANDIDATES = ("tini-static", "docker-init")


def find_init(configured: str = "") -> str:
    """The host path of the init binary ("" when none is installed): ``configured`` (an
    explicit path) when given, else the first of :data:`CANDIDATES` on PATH or in
    /usr/bin, /usr/libexec/docker."""
    if configured:
        return configured if os.access(configured, os.X_OK) else ""
    for name in CANDIDATES:
        found = shutil.which(name) or next(
            (
                p
                for d in ("/usr/bin", "/usr/libexec/docker")
                if os.access(p := os.path.join(d, name), os.X_OK)
            ),
            None,
        )
        if found:
            return os.path.realpath(found)
    return ""
