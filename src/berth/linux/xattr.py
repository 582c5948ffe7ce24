"""Extended attributes (xattr(7)) on a path itself, never on a symlink's target.

Namespaces matter for who may read and write: ``user.*`` (files and directories only),
``trusted.*`` (CAP_SYS_ADMIN; overlayfs keeps its own state there: ``trusted.overlay.opaque``,
``…whiteout``, ``…redirect``, ``…origin``), ``security.*`` (``security.capability`` holds
file capabilities, cleared by chown(2)). Reading ``trusted.*`` without the capability
just finds nothing (ENODATA), so :func:`get` answers None for it rather than failing.
"""

from __future__ import annotations

import errno
import os

from berth.errdefs import from_oserror

__all__ = ["get", "list_names", "remove", "set"]

# Answers that mean "no such attribute here", not a failure.
_ABSENT = (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP)


def get(path: str, name: str) -> bytes | None:
    """The value of ``name`` on ``path`` (not following a symlink), None if unset or the
    filesystem has no xattrs."""
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _ABSENT:
            return None
        raise from_oserror(f"getxattr {name} on {path!r}", exc) from exc


def set(path: str, name: str, value: bytes) -> None:
    try:
        os.setxattr(path, name, value, follow_symlinks=False)
    except OSError as exc:
        raise from_oserror(f"setxattr {name} on {path!r}", exc) from exc


def remove(path: str, name: str) -> None:
    try:
        os.removexattr(path, name, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _ABSENT:
            return
        raise from_oserror(f"removexattr {name} on {path!r}", exc) from exc


def list_names(path: str) -> list[str]:
    """The attribute names on ``path``, sorted; [] where the filesystem has none."""
    try:
        return sorted(os.listxattr(path, follow_symlinks=False))
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return []
        raise from_oserror(f"listxattr on {path!r}", exc) from exc
