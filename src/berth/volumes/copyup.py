"""Copy-up: a new volume starts with the image's content at its mount point.

When a container first mounts an empty volume at a path where its image has files,
Docker copies those files into the volume (unless the mount says ``nocopy``), so that
``-v data:/var/lib/mysql`` starts from the image's ``/var/lib/mysql``. Only an empty
volume is filled: a volume with anything in it keeps what it has.

The source is an image's (or container's) tree, so it is not trusted: nothing in it is
followed. Symlinks are copied as symlinks (their targets never read), directories are
walked with ``O_NOFOLLOW`` semantics (``os.scandir`` entries checked with
``follow_symlinks=False``), and only regular files, directories, symlinks, fifos and
device nodes are copied. Owners, modes, times and xattrs go with each entry where the
kernel lets us (xattrs of namespaces we may not write are skipped).
"""

from __future__ import annotations

import errno
import os
import stat

from berth.errdefs import from_oserror

__all__ = ["copy_tree", "is_empty"]

_CHUNK = 1 << 20


def is_empty(path: str) -> bool:
    try:
        with os.scandir(path) as it:
            return next(it, None) is None
    except FileNotFoundError:
        return True


def _copy_xattrs(src: str, dst: str) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)
        except OSError as exc:
            # trusted.* without CAP_SYS_ADMIN, user.* on a symlink, a filesystem without
            # xattrs: the copy is still the copy the caller wants
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES, errno.EINVAL):
                raise


def _copy_meta(st: os.stat_result, src: str, dst: str) -> None:
    """Owner, then mode (chown clears set-id bits), xattrs, times; never following dst."""
    try:
        os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    except PermissionError:
        pass  # not root: the files stay ours
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dst, stat.S_IMODE(st.st_mode))
    _copy_xattrs(src, dst)
    try:
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP):
            raise


def _copy_file(src: str, dst: str) -> None:
    fd_in = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fd_out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            while True:
                try:
                    n = os.copy_file_range(fd_in, fd_out, _CHUNK)
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                        raise
                    while chunk := os.read(fd_in, _CHUNK):
                        os.write(fd_out, chunk)
                    break
                if n == 0:
                    break
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


def _copy_entry(src: str, dst: str, st: os.stat_result, links: dict[tuple[int, int], str]) -> None:
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        os.mkdir(dst, 0o700)
        _copy_children(src, dst, links)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISREG(mode):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in links:
            os.link(links[key], dst, follow_symlinks=False)
            return
        _copy_file(src, dst)
        if st.st_nlink > 1:
            links[key] = dst
    elif stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        os.mknod(dst, mode, st.st_rdev)
    else:
        return  # sockets: nothing to copy
    _copy_meta(st, src, dst)


def _copy_children(src: str, dst: str, links: dict[tuple[int, int], str]) -> None:
    with os.scandir(src) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        _copy_entry(e.path, os.path.join(dst, e.name), e.stat(follow_symlinks=False), links)


def copy_tree(src: str, dst: str) -> bool:
    """Copy the content of directory ``src`` into the existing, empty directory ``dst``
    and give ``dst`` the owner and mode of ``src``. False (nothing done) when ``dst`` is
    not empty or ``src`` is not a directory (a symlink to one included)."""
    try:
        st = os.lstat(src)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise from_oserror(f"copy up from {src!r}", exc) from exc
    if not stat.S_ISDIR(st.st_mode) or not is_empty(dst):
        return False
    try:
        _copy_children(src, dst, {})
        _copy_meta(st, src, dst)
    except OSError as exc:
        raise from_oserror(f"copy up {src!r} to {dst!r}", exc) from exc
    return True
