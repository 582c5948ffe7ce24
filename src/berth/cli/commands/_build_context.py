"""The build context ``berth build`` sends: a directory as a tar, the way the docker CLI
makes it (cli/command/image/build, moby ``pkg/archive.TarWithOptions``).

- Entries in lexical order per directory, paths relative to the context (no ``./``
  entry), directories as ``name/``; symlinks stay symlinks; a file linked twice is a
  hard link the second time; uid/gid 0 and no user names (the CLI resets ownership);
  mtimes in whole seconds.
- ``.dockerignore`` excludes files; the Dockerfile and ``.dockerignore`` themselves are
  always sent (``TrimBuildFilesFromExcludes``). An excluded directory is walked only if
  a ``!`` pattern may bring something inside it back, and then without its own entry.
- A Dockerfile from stdin (``-f -``) or from outside the context is added under a random
  name ``.dockerfile.<hex>``, which is appended to ``.dockerignore`` so that COPY does
  not see it (``AddDockerfileToBuildContext``).
- ``berth build -``: stdin is a tar (plain or compressed, sent as it is) or a Dockerfile,
  sent alone in a tar as ``Dockerfile`` (``GetContextFromReader``).

The tar is produced as it is sent (headers from :mod:`tarfile`, file data read in
chunks), so a large context never sits in memory.
"""

from __future__ import annotations

import os
import stat
import tarfile
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol

from berth.cli.context import CliError

__all__ = [
    "ContextTar",
    "Matcher",
    "dockerfile_entry",
    "is_archive",
    "local_context",
    "stdin_context",
    "tar_entries",
]

BLOCK = 512
CHUNK = 1 << 20  # big chunks: each costs the daemon a trip through its event loop
DEFAULT_DOCKERFILE = "Dockerfile"


class Matcher(Protocol):
    """:class:`berth.builder.dockerignore.IgnoreMatcher`'s interface."""

    def excluded(self, rel_path: str, is_dir: bool = False) -> bool: ...

    def dir_may_have_exceptions(self, rel_dir: str) -> bool: ...


def _header(info: tarfile.TarInfo) -> bytes:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _file_entry(info: tarfile.TarInfo, path: str) -> Iterator[bytes]:
    yield _header(info)
    left = info.size
    with open(path, "rb") as f:
        while left > 0:
            data = f.read(min(CHUNK, left))
            if not data:  # the file shrank while it was sent: keep the header's size
                data = b"\0" * left
            left -= len(data)
            yield data
    if info.size % BLOCK:
        yield b"\0" * (BLOCK - info.size % BLOCK)


def dockerfile_entry(name: str, data: bytes, mode: int = 0o644) -> bytes:
    """One regular file entry holding ``data`` (a Dockerfile, a rewritten .dockerignore)."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    pad = b"\0" * (-len(data) % BLOCK)
    return _header(info) + data + pad


def tar_entries(root: str, matcher: Matcher | None, skip: frozenset[str] = frozenset()) -> Iterator[bytes]:
    """The tar entries of ``root``'s tree (without the end-of-archive blocks); ``skip``
    names relative paths left out whatever the matcher says (they are added apart)."""
    links: dict[tuple[int, int], str] = {}

    def walk(rel_dir: str) -> Iterator[bytes]:
        full_dir = os.path.join(root, rel_dir) if rel_dir else root
        try:
            names = sorted(os.listdir(full_dir))
        except OSError as exc:
            raise CliError(f"error checking context: can't stat '{full_dir}': {exc.strerror}") from None
        for name in names:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if rel in skip:
                continue
            path = os.path.join(full_dir, name)
            try:
                st = os.lstat(path)
            except OSError as exc:
                raise CliError(f"error checking context: can't stat '{path}': {exc.strerror}") from None
            is_dir = stat.S_ISDIR(st.st_mode)
            if matcher is not None and matcher.excluded(rel, is_dir):
                if is_dir and matcher.dir_may_have_exceptions(rel):
                    yield from walk(rel)
                continue
            info = tarfile.TarInfo(rel)
            info.mode = stat.S_IMODE(st.st_mode)
            info.mtime = int(st.st_mtime)
            if is_dir:
                info.type = tarfile.DIRTYPE
                yield _header(info)
                yield from walk(rel)
            elif stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
                yield _header(info)
            elif stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in links:
                    info.type = tarfile.LNKTYPE
                    info.linkname = links[key]
                    yield _header(info)
                    continue
                links[key] = rel
                info.size = st.st_size
                try:
                    yield from _file_entry(info, path)
                except OSError as exc:
                    raise CliError(f"error checking context: can't open '{path}': {exc.strerror}") from None
            elif stat.S_ISFIFO(st.st_mode):
                info.type = tarfile.FIFOTYPE
                yield _header(info)
            # sockets and device nodes are not sent

    yield from walk("")


class ContextTar:
    """A build context ready to send: ``chunks()`` gives the tar, ``dockerfile`` the
    name to ask the daemon for. ``whole``: ``entries`` is a complete archive already
    (stdin's), sent as it is."""

    def __init__(
        self, entries: Callable[[], Iterator[bytes]], dockerfile: str, whole: bool = False, directory: str = ""
    ) -> None:
        self._entries = entries
        self.dockerfile = dockerfile
        self.whole = whole
        self.directory = directory  # a plain directory context, which berthd may read in place

    def chunks(self) -> Iterator[bytes]:
        """The tar in chunks of about 64 KiB, ended by two zero blocks."""
        if self.whole:
            yield from self._entries()
            return
        buf = bytearray()
        for data in self._entries():
            if not buf and len(data) >= CHUNK:
                yield data  # a big piece of a file goes as it is, not copied again
                continue
            buf += data
            if len(buf) >= CHUNK:
                yield bytes(buf)
                buf.clear()
        buf += b"\0" * (2 * BLOCK)
        yield bytes(buf)


def _random_name() -> str:
    return ".dockerfile." + os.urandom(10).hex()


def _read_dockerignore(root: str) -> str | None:
    try:
        with open(os.path.join(root, ".dockerignore"), encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CliError(f"unable to prepare context: {exc.strerror}: .dockerignore") from None


def local_context(
    directory: str,
    dockerfile: str,
    stdin_dockerfile: bytes | None,
    make_matcher: Callable[[str, list[str]], Matcher],
) -> ContextTar:
    """``directory`` as a context. ``dockerfile`` is ``-f``'s value ("" for the default,
    relative to the current directory otherwise, as docker reads it);
    ``stdin_dockerfile`` the Dockerfile read from stdin for ``-f -``. ``make_matcher``
    turns .dockerignore's text and extra patterns into a matcher."""
    root = os.path.abspath(directory)
    if not os.path.exists(root):
        raise CliError(f'unable to prepare context: path "{directory}" not found')
    if not os.path.isdir(root):
        raise CliError(f"unable to prepare context: context must be a directory: {root}")
    outside: bytes | None = stdin_dockerfile
    rel_dockerfile = ""
    if stdin_dockerfile is None:
        if dockerfile:
            df_path = os.path.abspath(dockerfile)
        else:
            df_path = os.path.join(root, DEFAULT_DOCKERFILE)
            if not os.path.exists(df_path) and os.path.exists(os.path.join(root, "dockerfile")):
                df_path = os.path.join(root, "dockerfile")
        try:
            real = os.path.realpath(df_path, strict=True)
        except OSError as exc:
            raise CliError(
                "unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                f"lstat {exc.filename or df_path}: {(exc.strerror or '').lower()}"
            ) from None
        rel = os.path.relpath(real, os.path.realpath(root))
        if rel == ".." or rel.startswith("../"):
            try:
                with open(real, "rb") as f:
                    outside = f.read()
            except OSError as exc:
                raise CliError(f"unable to open Dockerfile: {exc.strerror}") from None
        else:
            rel_dockerfile = rel.replace(os.sep, "/")
    ignore_text = _read_dockerignore(root)
    extra = ["!.dockerignore"] + ([f"!{rel_dockerfile}"] if rel_dockerfile else [])
    matcher = make_matcher(ignore_text, extra) if ignore_text is not None else None
    if outside is None:
        return ContextTar(lambda: tar_entries(root, matcher), rel_dockerfile, directory=root)

    name = _random_name()
    ignore = (ignore_text or "") + "\n" + name + "\n"
    dockerfile_data = outside

    def entries() -> Iterator[bytes]:
        yield from tar_entries(root, matcher, frozenset({".dockerignore", name}))
        yield dockerfile_entry(".dockerignore", ignore.encode("utf-8", "surrogateescape"))
        yield dockerfile_entry(name, dockerfile_data, 0o600)

    return ContextTar(entries, name)


_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


def is_archive(head: bytes) -> bool:
    """A tar (``ustar`` at offset 257) or a compressed stream (gzip, bzip2, xz, zstd), as
    moby's ``archive.IsArchive`` decides from the first bytes."""
    if head.startswith(_MAGIC):
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


def stdin_context(stream: BinaryIO, dockerfile: str) -> ContextTar:
    """``berth build -``: stdin (a binary file) as the context."""
    read = stream.read
    head = b""
    while len(head) < BLOCK:
        data = read(BLOCK - len(head))
        if not data:
            break
        head += data
    if is_archive(head):

        def passthrough() -> Iterator[bytes]:
            yield head
            while data := read(CHUNK):
                yield data
        return ContextTar(passthrough, dockerfile or DEFAULT_DOCKERFILE, whole=True)
    if dockerfile == "-":
        raise CliError("build context is not an archive")
    rest = b"".join(iter(lambda: read(CHUNK), b""))
    data = head + rest
    return ContextTar(lambda: iter([dockerfile_entry(DEFAULT_DOCKERFILE, data)]), DEFAULT_DOCKERFILE)
