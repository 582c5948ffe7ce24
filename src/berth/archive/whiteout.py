"""Whiteouts: how a layer deletes what the layers below it have, in two spellings.

In a **layer tar** (image-spec layer.md#whiteouts, Docker's AUFS heritage):

- ``dir/.wh.name`` — ``name`` is deleted;
- ``dir/.wh..wh..opq`` — ``dir`` is *opaque*: nothing of the lower layers shows in it.

On an **overlayfs** layer directory (Documentation/filesystems/overlayfs.rst, "whiteouts
and opaque directories"), which is what berth extracts layers to and what a container's
upper directory holds:

- a character device with device number 0:0 named ``name``;
- the extended attribute ``trusted.overlay.opaque=y`` on the directory.

:mod:`berth.archive.apply` turns the first form into the second, :mod:`berth.archive.diff`
the second into the first. Other ``.wh..wh.*`` names are AUFS bookkeeping (``.wh..wh.plnk``)
and are skipped. Making a 0:0 device and writing ``trusted.*`` need root (CAP_MKNOD,
CAP_SYS_ADMIN); rootless overlay will use ``user.overlay.*`` xattrs instead, and keeping
the two spellings here is where that switch will go.
"""

from __future__ import annotations

import os
import stat

from berth.linux import xattr

__all__ = [
    "OPAQUE_MARKER",
    "OVERLAY_OPAQUE_XATTR",
    "OVERLAY_XATTR_PREFIXES",
    "WHITEOUT_META_PREFIX",
    "WHITEOUT_PREFIX",
    "is_opaque",
    "is_whiteout",
    "make_whiteout",
    "set_opaque",
]

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE_MARKER = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
# overlayfs's private state; never copied from or into a layer tar.
OVERLAY_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")


def is_whiteout(st: os.stat_result) -> bool:
    """Is this (lstat) an overlay whiteout: a character device 0:0?"""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: str) -> bool:
    return xattr.get(path, OVERLAY_OPAQUE_XATTR) == b"y"


def set_opaque(path: str) -> None:
    xattr.set(path, OVERLAY_OPAQUE_XATTR, b"y")


def make_whiteout(path: str, uid: int = 0, gid: int = 0, chown: bool = True) -> None:
    """Create the overlay whiteout ``path`` (nothing may be there)."""
    os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))
    if chown:
        os.chown(path, uid, gid, follow_symlinks=False)
