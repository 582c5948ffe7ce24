"""Make a layer tar from an overlay upper directory (``docker commit``, build steps).

An overlayfs upper directory already *is* the change set of a container: new and
modified files as they are, deletions as 0:0 character devices, directories that
replace a lower one marked ``trusted.overlay.opaque=y``. :func:`diff` writes it as a
layer tar with the whiteouts in tar form (:mod:`berth.archive.whiteout`):

- a 0:0 character device ``name`` → an empty regular file ``.wh.name`` (mode 0600);
- an opaque directory → its own entry, then an empty ``dir/.wh..wh..opq``;
- ``trusted.overlay.*``/``user.overlay.*`` attributes (overlay's bookkeeping) are left
  out; other extended attributes go in as PAX ``SCHILY.xattr.*`` records.

``lower_dirs`` (the image's layer directories, top-most first) are used only to drop
whiteouts and opaque markers that hide nothing — a name no lower layer has; with no
lower directories every marker is kept. The overlay mount must not use ``redirect_dir``
or ``metacopy``: with them the upper directory alone no longer holds whole files.

**Deterministic output**, so that the same tree always has the same diff_id (the
sha256 of the tar): entries depth-first in byte order of their names, a directory before
its contents; modification times in whole seconds (optionally clamped to
``source_date_epoch``), no access or change times; user and group as numbers only
(``uname``/``gname`` empty); PAX records only when needed, xattrs sorted; hard links
as the first name in that order followed by links to it; the archive ends with two zero
blocks and no further padding, as Go's ``archive/tar`` (and so Docker) writes it.
Sockets are skipped, as Docker does.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections.abc import Iterator, Sequence
from typing import IO

from berth.archive import whiteout as wh
from berth.archive.compression import Reader, decompress
from berth.errdefs import FailedPrecondition, InvalidArgument, from_oserror
from berth.linux import xattr
from berth.oci.digest import Digest, Digester

__all__ = ["diff", "diff_id", "write_diff"]

_BLOCK = 512
_CHUNK = 1 << 20
_XATTR_PAX = "SCHILY.xattr."


def diff(
    lower_dirs: Sequence[str],
    upper_dir: str,
    *,
    source_date_epoch: int | None = None,
) -> Iterator[bytes]:
    """The layer tar of ``upper_dir``, in chunks (see the module docstring)."""
    if not os.path.isdir(upper_dir):
        raise InvalidArgument(f"diff: {upper_dir!r} is not a directory")
    return _Differ(list(lower_dirs), upper_dir, source_date_epoch).run()


def write_diff(
    lower_dirs: Sequence[str],
    upper_dir: str,
    out: IO[bytes],
    *,
    source_date_epoch: int | None = None,
) -> tuple[Digest, int]:
    """Write :func:`diff` to ``out``; returns the diff_id and the size of the tar."""
    d = Digester()
    for chunk in diff(lower_dirs, upper_dir, source_date_epoch=source_date_epoch):
        d.update(chunk)
        out.write(chunk)
    return d.digest(), d.size


def diff_id(stream: Reader) -> Digest:
    """The diff_id of a layer blob: the sha256 of its tar, decompressed if need be."""
    plain, _ = decompress(stream)
    h = hashlib.sha256()
    while chunk := plain.read(_CHUNK):
        h.update(chunk)
    return Digest.from_hex(h.hexdigest())


class _Differ:
    def __init__(self, lowers: list[str], upper: str, sde: int | None) -> None:
        self.lowers = lowers
        self.upper = upper
        self.sde = sde
        self.links: dict[tuple[int, int], str] = {}
        self.buf = bytearray()

    def run(self) -> Iterator[bytes]:
        yield from self._walk("")
        self.buf += b"\0" * (2 * _BLOCK)
        yield bytes(self.buf)

    def _flush(self) -> Iterator[bytes]:
        if len(self.buf) >= _CHUNK:
            yield bytes(self.buf)
            self.buf.clear()

    def _walk(self, rel: str) -> Iterator[bytes]:
        host_dir = os.path.join(self.upper, rel) if rel else self.upper
        try:
            names = sorted(os.listdir(host_dir), key=os.fsencode)
        except OSError as exc:
            raise from_oserror(f"diff: list {host_dir!r}", exc) from exc
        for name in names:
            path = f"{rel}/{name}" if rel else name
            host = os.path.join(self.upper, path)
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                continue
            yield from self._entry(path, host, st)
            yield from self._flush()

    def _in_lowers(self, path: str, want_dir: bool) -> bool:
        """Does a lower layer have ``path`` (a directory, with ``want_dir``)? With no
        lowers given we cannot tell, and keep the marker."""
        if not self.lowers:
            return True
        for d in self.lowers:
            try:
                st = os.lstat(os.path.join(d, path))
            except (FileNotFoundError, NotADirectoryError):
                continue
            if wh.is_whiteout(st):
                return False
            return stat.S_ISDIR(st.st_mode) or not want_dir
        return False

    def _entry(self, path: str, host: str, st: os.stat_result) -> Iterator[bytes]:
        mode = st.st_mode
        if wh.is_whiteout(st):
            if self._in_lowers(path, want_dir=False):
                parent, _, name = path.rpartition("/")
                wo = f"{parent}/{wh.WHITEOUT_PREFIX}{name}" if parent else wh.WHITEOUT_PREFIX + name
                self._header(wo, tarfile.REGTYPE, 0o600, st, {})
            return
        if stat.S_ISSOCK(mode):
            return
        xattrs = self._xattrs(host)
        if stat.S_ISDIR(mode):
            self._header(path, tarfile.DIRTYPE, stat.S_IMODE(mode), st, xattrs)
            if wh.is_opaque(host) and self._in_lowers(path, want_dir=True):
                self._header(
                    f"{path}/{wh.OPAQUE_MARKER}", tarfile.REGTYPE, stat.S_IMODE(mode) & 0o777, st, {}
                )
            yield from self._walk(path)
            return
        if stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1:
                first = self.links.get(key)
                if first is not None:
                    self._header(path, tarfile.LNKTYPE, stat.S_IMODE(mode), st, xattrs, linkname=first)
                    return
                self.links[key] = path
            self._header(path, tarfile.REGTYPE, stat.S_IMODE(mode), st, xattrs, size=st.st_size)
            yield from self._content(host, st.st_size)
            return
        if stat.S_ISLNK(mode):
            self._header(path, tarfile.SYMTYPE, stat.S_IMODE(mode), st, xattrs, linkname=os.readlink(host))
            return
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            kind = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            self._header(path, kind, stat.S_IMODE(mode), st, xattrs)
            return
        if stat.S_ISFIFO(mode):
            self._header(path, tarfile.FIFOTYPE, stat.S_IMODE(mode), st, xattrs)
            return

    def _xattrs(self, host: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in xattr.list_names(host):
            if name.startswith(wh.OVERLAY_XATTR_PREFIXES):
                continue
            value = xattr.get(host, name)
            if value is not None:
                out[_XATTR_PAX + name] = value.decode("utf-8", "surrogateescape")
        return out

    def _header(
        self,
        name: str,
        kind: bytes,
        mode: int,
        st: os.stat_result,
        pax: dict[str, str],
        *,
        size: int = 0,
        linkname: str = "",
    ) -> None:
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mode = mode
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.uname = ti.gname = ""
        mtime = int(st.st_mtime)
        if self.sde is not None:
            mtime = min(mtime, self.sde)
        ti.mtime = mtime
        ti.size = size
        ti.linkname = linkname
        if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        ti.pax_headers = dict(sorted(pax.items()))
        self.buf += ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")

    def _content(self, host: str, size: int) -> Iterator[bytes]:
        try:
            fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise from_oserror(f"diff: open {host!r}", exc) from exc
        left = size
        try:
            while left:
                chunk = os.read(fd, min(left, _CHUNK))
                if not chunk:
                    raise FailedPrecondition(f"diff: {host!r} shrank while being archived")
                self.buf += chunk
                left -= len(chunk)
                yield from self._flush()
        finally:
            os.close(fd)
        pad = -size % _BLOCK
        if pad:
            self.buf += b"\0" * pad
