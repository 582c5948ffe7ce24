"""The build context as an index of the uploaded tar, unpacked only when a step needs it.

A rebuild whose steps all come from the cache must not pay for writing the context to disk
(a thousand small files cost more than the rest of such a build). So the upload is read
once, as it arrives: every entry's name, type, mode, size and link target are indexed,
every file's content digest is computed, the Dockerfile and ``.dockerignore`` are kept,
and the tar is saved aside. COPY/ADD resolve their sources and compute their cache keys
from the index alone (:meth:`TarContext.find`, :meth:`TarContext.digest`); only a step that
actually runs calls :meth:`TarContext.root`, which unpacks the saved tar once.

Resolution follows :mod:`berth.builder.copy`'s rules on the index: ``..`` above the root
is refused, symlinks on the way are followed as if the context were ``/`` (so one pointing
outside finds nothing there), wildcards are Go's ``filepath.Match`` per component, and
``.dockerignore`` hides what it excludes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from berth import errdefs
from berth.archive.compression import Reader
from berth.builder import copy as copymod
from berth.linux.fs import resolve_in_root

__all__ = ["Context", "DirContext", "Entry", "TarContext"]

_CHUNK = 1 << 20
_MAX_LINKS = 255
_BLOCK = 512
_SMALL_MAX = 16 << 20  # a Dockerfile or .dockerignore larger than this is not one
_ZERO = b"\0" * _BLOCK


@dataclass
class Entry:
    kind: str  # "f" file, "d" directory, "l" symlink
    mode: int = 0o755
    size: int = 0
    link: str = ""
    digest: str = ""
    children: list[str] = field(default_factory=list)


class _Stream:
    """Reads the upload in large pieces, saving every byte to ``saved`` as it goes."""

    def __init__(self, src: Reader, saved: BinaryIO) -> None:
        self.src = src
        self.saved = saved
        self.buf = b""
        self.pos = 0  # what of buf is consumed (slicing bytes would copy the rest each time)

    def _more(self) -> bool:
        data = self.src.read(_CHUNK)
        if not data:
            return False
        self.saved.write(data)
        self.buf = self.buf[self.pos :] + data if self.pos < len(self.buf) else data
        self.pos = 0
        return True

    def exact(self, n: int) -> bytes:
        while len(self.buf) - self.pos < n:
            if not self._more():
                raise EOFError("unexpected end of the archive")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def pieces(self, n: int) -> Iterator[bytes]:
        """The next ``n`` bytes, in the pieces they arrived in."""
        while n > 0:
            if self.pos >= len(self.buf) and not self._more():
                raise EOFError("unexpected end of the archive")
            piece = self.buf[self.pos : self.pos + n]
            self.pos += len(piece)
            n -= len(piece)
            yield piece

    def drain(self) -> None:
        self.buf, self.pos = b"", 0
        while self._more():
            self.buf, self.pos = b"", 0


@dataclass
class _Header:
    name: str
    type: bytes
    mode: int
    size: int
    linkname: str


def _pax(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        sp = data.index(b" ", pos)
        length = int(data[pos:sp])
        key, _, value = data[sp + 1 : pos + length - 1].partition(b"=")
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


def _headers(st: _Stream) -> Iterator[_Header]:
    """The entries of a tar (ustar, pax and GNU long names), each followed by its data,
    which the consumer must read from ``st`` (``size`` bytes; the padding is skipped)."""
    pax: dict[str, str] = {}
    gnu: dict[bytes, str] = {}
    while True:
        try:
            block = st.exact(_BLOCK)
        except EOFError:
            return  # an archive cut after its last entry, as tar(1) accepts
        if block == _ZERO:
            return
        ti = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        pad = -ti.size % _BLOCK
        if ti.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
            data = st.exact(ti.size + pad)[: ti.size]
            if ti.type == tarfile.XHDTYPE:
                pax = _pax(data)
            elif ti.type != tarfile.XGLTYPE:
                gnu[ti.type] = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            continue
        size = int(pax["size"]) if "size" in pax else ti.size
        yield _Header(
            name=pax.get("path") or gnu.get(tarfile.GNUTYPE_LONGNAME) or ti.name,
            type=ti.type,
            mode=ti.mode,
            size=size if ti.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE) else 0,
            linkname=pax.get("linkpath") or gnu.get(tarfile.GNUTYPE_LONGLINK) or ti.linkname,
        )
        pax, gnu = {}, {}


def _norm(name: str) -> str:
    return os.path.normpath("/" + name).lstrip("/")


class TarContext:
    """The context uploaded as a tar (plain: the caller decompresses), indexed."""

    def __init__(self, stream: Reader, directory: str, keep: Iterable[str] = ()) -> None:
        """Read ``stream`` to its end; the tar is saved in ``directory``, which also gets
        the unpacked tree on demand. ``keep``: names whose contents are kept in memory
        (the Dockerfile, ``.dockerignore``), available from :meth:`read_small`."""
        self.directory = directory
        self.tar_path = os.path.join(directory, "context.tar")
        self._root = ""
        self.entries: dict[str, Entry] = {"": Entry("d")}
        self._small: dict[str, bytes] = {}
        wanted = {_norm(k) for k in keep}
        with open(self.tar_path, "wb") as saved:
            st = _Stream(stream, saved)
            try:
                for h in _headers(st):
                    self._add(st, h, wanted)
            except (tarfile.TarError, EOFError, ValueError) as exc:
                raise errdefs.InvalidArgument(f"the build context is not a valid tar archive: {exc}") from None
            st.drain()

    def _dir(self, name: str) -> Entry:
        e = self.entries.get(name)
        if e is None:
            parent = self._dir(os.path.dirname(name)) if name else None
            e = self.entries[name] = Entry("d")
            if parent is not None:
                parent.children.append(os.path.basename(name))
        return e

    def _add(self, st: _Stream, h: _Header, wanted: set[str]) -> None:
        name = _norm(h.name)
        data_left = h.size + (-h.size % _BLOCK)
        e: Entry | None = None
        if h.type == tarfile.DIRTYPE:
            if name:
                self._dir(name).mode = h.mode & 0o7777
        elif h.type == tarfile.SYMTYPE:
            e = Entry("l", h.mode & 0o7777, link=h.linkname)
        elif h.type == tarfile.LNKTYPE:
            target = self.entries.get(_norm(h.linkname))
            if target is None or target.kind != "f":
                raise errdefs.InvalidArgument(f"the build context's hard link {h.name} names no file before it")
            e = Entry("f", target.mode, target.size, digest=target.digest)
        elif h.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE):
            digest = hashlib.sha256()
            small = bytearray() if name in wanted else None
            for piece in st.pieces(h.size):
                digest.update(piece)
                if small is not None:
                    small += piece
            data_left -= h.size
            if small is not None:
                self._small[name] = bytes(small)
            e = Entry("f", h.mode & 0o7777, h.size, digest=digest.hexdigest())
        # fifos and devices are nobody's sources
        for _ in st.pieces(data_left):
            pass
        if e is None or not name:
            return
        parent = self._dir(os.path.dirname(name))
        if name not in self.entries:
            parent.children.append(os.path.basename(name))
        elif self.entries[name].kind == "d":
            raise errdefs.InvalidArgument(f"the build context has {h.name} both as a directory and not")
        self.entries[name] = e

    def is_dir(self, rel: str) -> bool:
        e = self.entries.get(_norm(rel))
        return e is not None and e.kind == "d"

    def read_small(self, name: str) -> bytes | None:
        """A kept file's contents (see ``keep``); None when the context has no such file."""
        return self._small.get(_norm(name))

    # -- resolution -------------------------------------------------------------------------

    def _resolve(self, path: str, what: str) -> str:
        parts = [p for p in path.split("/") if p and p != "."]
        resolved: list[str] = []
        links = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if not resolved:
                    raise errdefs.InvalidArgument(f"{what} {path!r} escapes the root through '..'")
                resolved.pop()
                continue
            here = "/".join([*resolved, part])
            e = self.entries.get(here)
            if e is None:
                resolved += [part, *(p for p in parts if p != "..")]
                return "/".join(resolved)
            if e.kind == "l":
                links += 1
                if links > _MAX_LINKS:
                    raise errdefs.InvalidArgument(f"{what} {path!r}: too many levels of symbolic links")
                if e.link.startswith("/"):
                    resolved = []
                parts = [p for p in e.link.split("/") if p and p != "."] + parts
                continue
            resolved.append(part)
        return "/".join(resolved)

    def _source(self, rel: str, shown: str, what: str) -> copymod.Source:
        name = self._resolve(rel, what)
        e = self.entries.get(name)
        if e is None:
            through_link = any(
                (x := self.entries.get("/".join(rel.split("/")[:i]))) is not None and x.kind == "l"
                for i in range(1, rel.count("/") + 2)
            )
            if through_link:
                raise errdefs.NotFound(
                    f"file not found in {what}: {shown} is a symlink whose target is outside the {what} "
                    "(links are followed inside the context only)"
                )
            raise errdefs.NotFound(
                f"file not found in {what} or excluded by .dockerignore: stat {shown}: file does not exist"
            )
        return copymod.Source(name, rel or ".", is_dir=e.kind == "d")

    def find(
        self, pattern: str, *, excluded: Callable[[str], bool] | None = None, what: str = "build context"
    ) -> list[copymod.Source]:
        """As :func:`berth.builder.copy.find_sources`, on the index (``Source.host`` is the
        resolved name in the context)."""

        def listdir(rel: str) -> list[str] | None:
            d = self.entries.get(self._resolve(rel, what) if rel else "")
            return d.children if d is not None and d.kind == "d" else None

        return copymod.match_sources(
            pattern, source=lambda rel, shown: self._source(rel, shown, what), listdir=listdir,
            excluded=excluded, what=what,
        )  # fmt: skip

    def digest(self, sources: Iterable[copymod.Source], excluded: Callable[[str], bool] | None = None) -> str:
        """The sources' names, types, modes, sizes, link targets and contents, digested."""
        excluded = excluded or (lambda _: False)
        h = hashlib.sha256()

        def walk(name: str, shown: str) -> None:
            e = self.entries[name]
            h.update(f"{shown}\0{e.kind}{e.mode:o}\0".encode())
            if e.kind == "l":
                h.update(e.link.encode() + b"\0")
            elif e.kind == "f":
                h.update(f"{e.size}\0{e.digest}\0".encode())
            else:
                for child in sorted(e.children):
                    sub = f"{shown}/{child}" if shown != "." else child
                    full = f"{name}/{child}" if name else child
                    if not excluded(os.path.normpath(sub)):
                        walk(full, sub)

        for s in sources:
            walk(s.host, s.name)
        return "sha256:" + h.hexdigest()

    def root(self) -> str:
        """The context unpacked (once) into a directory; its path."""
        if not self._root:
            from berth.archive.apply import apply_layer

            root = os.path.join(self.directory, "tree")
            os.makedirs(root)
            try:
                with open(self.tar_path, "rb") as f:
                    apply_layer(root, f, chown=False)
            except BaseException:
                shutil.rmtree(root, ignore_errors=True)
                raise
            self._root = root
        return self._root


class Context(Protocol):
    """What the builder needs of a build context (:class:`TarContext`, :class:`DirContext`)."""

    def read_small(self, name: str) -> bytes | None: ...

    def is_dir(self, rel: str) -> bool: ...

    def find(
        self, pattern: str, *, excluded: Callable[[str], bool] | None = None, what: str = "build context"
    ) -> list[copymod.Source]: ...

    def digest(self, sources: Iterable[copymod.Source], excluded: Callable[[str], bool] | None = None) -> str: ...

    def root(self) -> str: ...


class DirContext:
    """A context read where it is: a directory on berthd's own host (``berth build``
    through a local socket names it instead of uploading it, BuildKit's way of not
    sending what did not change). Files are digested once per inode and change
    (:func:`berth.builder.copy.file_digest`); digests equal :class:`TarContext`'s for the
    same files, so both share the cache."""

    def __init__(self, directory: str, ident: str) -> None:
        """``ident`` is the directory's ``device:inode`` as the client saw it: a path that
        names another directory here (another host's socket forwarded) is refused."""
        try:
            st = os.stat(directory) if directory.startswith("/") else None
        except OSError:
            st = None
        if st is None or not stat.S_ISDIR(st.st_mode) or ident != f"{st.st_dev}:{st.st_ino}":
            raise errdefs.InvalidArgument(
                f"build context {directory!r} is not a directory on the daemon's host: upload it instead"
            )
        self.directory = os.path.realpath(directory)

    def read_small(self, name: str) -> bytes | None:
        path = resolve_in_root(self.directory, name, "file")
        try:
            with open(path, "rb") as f:
                return f.read(_SMALL_MAX)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def is_dir(self, rel: str) -> bool:
        return os.path.isdir(resolve_in_root(self.directory, rel, "path"))

    def find(
        self, pattern: str, *, excluded: Callable[[str], bool] | None = None, what: str = "build context"
    ) -> list[copymod.Source]:
        return copymod.find_sources(self.directory, pattern, excluded=excluded, what=what)

    def digest(self, sources: Iterable[copymod.Source], excluded: Callable[[str], bool] | None = None) -> str:
        return copymod.sources_digest(sources, excluded)

    def root(self) -> str:
        return self.directory
