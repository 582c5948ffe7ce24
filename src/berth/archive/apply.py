"""Apply a layer tar onto a directory, whiteouts turned into overlayfs form.

``apply_layer(root, stream, parents=lower_dirs)`` reads a (gzip, zstd, bzip2, xz or plain)
layer and writes its entries into ``root``, the directory that becomes this layer's
overlay lowerdir. It keeps what a container needs of each entry: type, content, mode
(with setuid/setgid/sticky), owner, modification time, extended attributes (file
capabilities among them), hard links, symlinks, and device nodes **only for a trusted
image** (``trusted=True``: the daemon's own imports; pulled images get their device
nodes skipped and listed in :attr:`ApplyResult.skipped`, as Docker does in a user
namespace). FIFOs are always fine.

Whiteouts become overlayfs's (:mod:`berth.archive.whiteout`): ``.wh.name`` a 0:0
character device, ``.wh..wh..opq`` the ``trusted.overlay.opaque=y`` xattr.

**Path safety.** A layer is untrusted input; none of its entries may create, change or
link anything outside ``root``:

- names are cleaned: leading ``/`` is the layer's root, and a ``..`` climbing above it
  is refused (the whole apply fails: the caller discards the half-made snapshot);
- every parent directory is resolved in the merged view (:mod:`berth.archive._view`), so
  a symlink, whether from a lower layer or an earlier entry of this one, is followed as
  the container would follow it, inside the tree, and one that leads out is refused;
- the entry's own name is never followed: an existing symlink there is replaced, files
  are created with ``O_NOFOLLOW | O_EXCL``, metadata set with the ``l*`` calls;
- a hard link's target is resolved the same way and must be a non-directory already in
  ``root``; the link is made to the target itself, not to what a symlink points at;
- ``trusted.overlay.*`` attributes in the tar are dropped: only whiteout conversion may
  speak to overlayfs.

The digest of the uncompressed stream is computed on the way (the layer's **diff_id**);
pass ``expected_diff_id`` to have a mismatch raised as
:class:`~berth.content.DigestMismatch`-like InvalidArgument after the apply.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import stat
import tarfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from berth.archive import whiteout as wh
from berth.archive._view import View, clean_name
from berth.archive.compression import Reader, decompress
from berth.errdefs import BerthError, InvalidArgument, from_oserror
from berth.linux import xattr
from berth.oci.digest import Digest, Digester

__all__ = ["ApplyResult", "DiffIDMismatch", "apply_layer"]

_CHUNK = 1 << 20
_XATTR_PAX = "SCHILY.xattr."


class DiffIDMismatch(InvalidArgument):
    """The uncompressed layer does not hash to the diff_id the image config names."""


@dataclass
class ApplyResult:
    diff_id: Digest
    size: int  # bytes of the uncompressed tar
    compression: str  # what the stream was: "gzip", "zstd", … or "" (plain)
    skipped: list[str] = field(default_factory=list)  # "name: why", entries not applied


class _Hashing(io.RawIOBase):
    """Passes reads through, hashing them: the diff_id of what tarfile consumes."""

    def __init__(self, stream: Reader) -> None:
        self._stream = stream
        self.digester = Digester()

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        data = self._stream.read(len(view))
        if not data:
            return 0
        n = len(data)
        view[:n] = data
        self.digester.update(data)
        return n


def apply_layer(
    root: str,
    stream: Reader,
    *,
    parents: Sequence[str] = (),
    trusted: bool = False,
    chown: bool | None = None,
    expected_diff_id: Digest | str | None = None,
) -> ApplyResult:
    """Extract the layer ``stream`` into the directory ``root`` (see the module
    docstring). ``parents`` are the layer directories below, top-most first. ``chown``
    sets owners from the tar (default: when running as root)."""
    if chown is None:
        chown = os.geteuid() == 0
    if not os.path.isdir(root):
        raise InvalidArgument(f"apply layer: {root!r} is not a directory")
    try:
        plain, compression = decompress(stream)
        hashing = _Hashing(plain)
        applier = _Applier(root, parents, trusted, chown)
        try:
            tar = tarfile.open(fileobj=hashing, mode="r|", errors="surrogateescape")
        except tarfile.ReadError as exc:
            if hashing.digester.size == 0 and str(exc) == "empty file":
                tar = None  # a zero-byte layer: nothing to apply
            else:
                raise
        if tar is not None:
            with tar:
                for ti in tar:
                    applier.apply(tar, ti)
        while hashing.read(_CHUNK):
            pass  # the end-of-archive blocks and padding count in the diff_id
        applier.finish()
    except BerthError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, _gzip_bad(), _zstd_error()) as exc:
        raise InvalidArgument(f"apply layer to {root!r}: invalid layer archive: {exc}") from exc
    except OSError as exc:
        raise from_oserror(f"apply layer to {root!r}", exc) from exc
    got = hashing.digester.digest()
    if expected_diff_id is not None and got != Digest(expected_diff_id):
        raise DiffIDMismatch(
            f"apply layer to {root!r}: layer diff_id is {got}, the image config says {expected_diff_id}"
        )
    return ApplyResult(got, hashing.digester.size, compression, applier.skipped)


def _gzip_bad() -> type[Exception]:
    import gzip

    return gzip.BadGzipFile


def _zstd_error() -> type[Exception]:
    try:
        import zstandard
    except ImportError:
        return _Never
    return zstandard.ZstdError


class _Never(Exception):
    pass


class _Applier:
    def __init__(self, root: str, parents: Sequence[str], trusted: bool, chown: bool) -> None:
        self.root = os.path.abspath(root)
        self.view = View(self.root, [os.path.abspath(p) for p in parents])
        self.trusted = trusted
        self.chown = chown
        self.skipped: list[str] = []
        self.dirs: dict[str, tuple[int | None, int, int]] = {}

    def apply(self, tar: tarfile.TarFile, ti: tarfile.TarInfo) -> None:
        what = f"layer entry {ti.name!r}"
        comps = clean_name(ti.name, what)
        try:
            if not comps:
                self._root_entry(ti, what)
                return
            *parent, base = comps
            if comps[0].startswith(wh.WHITEOUT_META_PREFIX) and comps != [wh.OPAQUE_MARKER]:
                # AUFS bookkeeping (.wh..wh.plnk/…, .wh..wh.aufs): nothing of the image.
                self.skipped.append(f"{ti.name}: aufs metadata")
                return
            if base.startswith(wh.WHITEOUT_PREFIX):
                self._whiteout(parent, base, ti, what)
                return
            parent_host, made = self.view.make_parents(
                self.view.resolve_dir(parent, what), self.chown, what
            )
            for made_path, atime, mtime in made:
                self._defer(made_path, None, atime, mtime)
            self._entry(tar, ti, os.path.join(parent_host, base), what)
        except BerthError:
            raise
        except OSError as exc:
            raise from_oserror(what, exc) from exc

    # -- whiteouts -----------------------------------------------------------------------

    def _whiteout(self, parent: list[str], base: str, ti: tarfile.TarInfo, what: str) -> None:
        if base.startswith(wh.WHITEOUT_META_PREFIX) and base != wh.OPAQUE_MARKER:
            self.skipped.append(f"{ti.name}: aufs metadata")
            return
        parent_host, made = self.view.make_parents(
            self.view.resolve_dir(parent, what), self.chown, what
        )
        for made_path, atime, mtime in made:
            self._defer(made_path, None, atime, mtime)
        if base == wh.OPAQUE_MARKER:
            wh.set_opaque(parent_host)
            return
        name = base[len(wh.WHITEOUT_PREFIX) :]
        if name in ("", ".", ".."):
            raise InvalidArgument(f"{what}: invalid whiteout name")
        target = os.path.join(parent_host, name)
        if _remove(target):
            self.view.forget()
        wh.make_whiteout(target, ti.uid, ti.gid, self.chown)
        # The marker's time, so that diffing the applied layer gives the same bytes.
        os.utime(target, ns=_times(ti), follow_symlinks=False)

    # -- ordinary entries ----------------------------------------------------------------

    def _root_entry(self, ti: tarfile.TarInfo, what: str) -> None:
        if not ti.isdir():
            raise InvalidArgument(f"{what}: the layer root must be a directory")
        self._metadata(self.root, ti, what, is_dir=True)

    def _entry(self, tar: tarfile.TarFile, ti: tarfile.TarInfo, path: str, what: str) -> None:
        st = _lstat(path)
        if ti.isdir():
            if st is not None and stat.S_ISDIR(st.st_mode):
                self._metadata(path, ti, what, is_dir=True)
                return
            opaque = st is not None and wh.is_whiteout(st)
            if st is not None:
                _remove(path)
                self.view.forget()
            os.mkdir(path, 0o700)
            if opaque:
                wh.set_opaque(path)
            self._metadata(path, ti, what, is_dir=True)
            return

        if st is not None:
            _remove(path)
            self.view.forget()

        if ti.isreg():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                src = tar.extractfile(ti)
                assert src is not None
                while chunk := src.read(_CHUNK):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        elif ti.issym():
            os.symlink(ti.linkname, path)
        elif ti.islnk():
            self._hardlink(ti, path, what)
        elif ti.isfifo():
            os.mkfifo(path, 0o600)
        elif ti.ischr() or ti.isblk():
            if not self.trusted:
                self.skipped.append(f"{ti.name}: device node in an untrusted image")
                return
            kind = stat.S_IFCHR if ti.ischr() else stat.S_IFBLK
            os.mknod(path, kind | 0o600, os.makedev(ti.devmajor, ti.devminor))
        else:
            raise InvalidArgument(f"{what}: unhandled tar header type {ti.type!r}")
        self._metadata(path, ti, what, is_dir=False)

    def _hardlink(self, ti: tarfile.TarInfo, path: str, what: str) -> None:
        comps = clean_name(ti.linkname, f"{what}: hardlink target")
        if not comps:
            raise InvalidArgument(f"{what}: hardlink to the layer root")
        *parent, base = comps
        resolved = self.view.resolve_dir(parent, f"{what}: hardlink target")
        target = os.path.join(self.root, *resolved, base)
        st = _lstat(target)
        if st is None:
            raise InvalidArgument(
                f"{what}: hardlink target {ti.linkname!r} is not in this layer"
            )
        if stat.S_ISDIR(st.st_mode) or wh.is_whiteout(st):
            raise InvalidArgument(f"{what}: hardlink target {ti.linkname!r} is not a file")
        os.link(target, path, follow_symlinks=False)

    def _metadata(self, path: str, ti: tarfile.TarInfo, what: str, is_dir: bool) -> None:
        if ti.islnk():
            return  # a hard link shares the target's inode: its metadata came with it
        if self.chown:
            os.chown(path, ti.uid, ti.gid, follow_symlinks=False)
        if not ti.issym() and not is_dir:
            os.chmod(path, ti.mode & 0o7777)
        for key, value in sorted(ti.pax_headers.items()):
            if not key.startswith(_XATTR_PAX):
                continue
            name = key[len(_XATTR_PAX) :]
            if name.startswith(wh.OVERLAY_XATTR_PREFIXES):
                self.skipped.append(f"{ti.name}: xattr {name}")
                continue
            try:
                xattr.set(path, name, value.encode("utf-8", "surrogateescape"))
            except BerthError as exc:
                code = getattr(exc, "errno", 0)
                if code in (errno.ENOTSUP, errno.EOPNOTSUPP) or (
                    code == errno.EPERM and (not self.chown or ti.issym())
                ):
                    # Not supported here, not ours to set, or user.* on a symlink
                    # (the kernel refuses those): noted, not fatal.
                    self.skipped.append(f"{ti.name}: xattr {name}: {exc.message}")
                    continue
                raise InvalidArgument(f"{what}: {exc.message}") from exc
        atime, mtime = _times(ti)
        if is_dir:
            # Children still to come would change the times, and a read-only mode
            # would stop a non-root apply from adding them: both wait for finish().
            self._defer(path, ti.mode & 0o7777, atime, mtime)
        else:
            os.utime(path, ns=(atime, mtime), follow_symlinks=False)

    def _defer(self, path: str, mode: int | None, atime: int, mtime: int) -> None:
        self.dirs.pop(path, None)
        self.dirs[path] = (mode, atime, mtime)

    def finish(self) -> None:
        for path, (mode, atime, mtime) in reversed(self.dirs.items()):
            st = _lstat(path)
            if st is None or not stat.S_ISDIR(st.st_mode):
                continue  # replaced by a later entry, which set its own metadata
            if mode is not None:
                os.chmod(path, mode)
            os.utime(path, ns=(atime, mtime), follow_symlinks=False)


def _times(ti: tarfile.TarInfo) -> tuple[int, int]:
    mtime = _pax_time(ti.pax_headers.get("mtime"))
    if mtime is None:
        mtime = int(ti.mtime) * 1_000_000_000
    atime = _pax_time(ti.pax_headers.get("atime"))
    return (mtime if atime is None else atime), mtime


def _pax_time(value: str | None) -> int | None:
    """A PAX time ``1700000000.123456789`` as exact nanoseconds."""
    if not value:
        return None
    sec, _, frac = value.partition(".")
    try:
        ns = int(sec) * 1_000_000_000
        if frac:
            ns += (-1 if sec.startswith("-") else 1) * int(frac[:9].ljust(9, "0"))
    except ValueError:
        return None
    return ns


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _remove(path: str) -> bool:
    """Remove whatever is at ``path`` (not following it); whether there was anything."""
    st = _lstat(path)
    if st is None:
        return False
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)
    return True
