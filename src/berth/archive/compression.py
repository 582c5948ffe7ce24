"""Layer compression: detect it from the first bytes, read through it, write with it.

Layers travel gzip-compressed (Docker, most registries), zstd-compressed (OCI
``+zstd``, BuildKit's ``compression=zstd``) or plain. Like Docker's
``DecompressStream`` berth trusts the magic number over the media type, and also reads
bzip2 and xz (rootfs tarballs given to ``import``). gzip, bzip2 and xz come from the
standard library; zstd from the ``zstandard`` package, imported only when a zstd stream
shows up (NotImplemented, clearly, where it is missing).

Compressed output is deterministic: gzip with mtime 0 and no file name, so the same tar
always gives the same blob digest.
"""

from __future__ import annotations

import io
from types import TracebackType
from typing import IO, Any, Protocol, Self

from berth import errdefs
from berth.errdefs import InvalidArgument

__all__ = [
    "BZIP2",
    "GZIP",
    "UNCOMPRESSED",
    "XZ",
    "ZSTD",
    "Reader",
    "Writer",
    "compressor",
    "decompress",
    "detect",
]

GZIP = "gzip"
ZSTD = "zstd"
BZIP2 = "bzip2"
XZ = "xz"
UNCOMPRESSED = ""

_MAGIC = (
    (b"\x1f\x8b\x08", GZIP),
    (b"\x28\xb5\x2f\xfd", ZSTD),
    (b"BZh", BZIP2),
    (b"\xfd7zXZ\x00", XZ),
)
_HEAD = 6


class Reader(Protocol):
    """What :func:`decompress` returns: something to ``read`` the plain bytes from."""

    def read(self, n: int = -1, /) -> bytes: ...


class Writer(Protocol):
    """What :func:`compressor` returns: ``write`` plain bytes, ``close`` to finish."""

    def write(self, data: bytes, /) -> int | None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


def detect(head: bytes) -> str:
    """The compression of a stream starting with ``head`` (at least 6 bytes when the
    stream has them); :data:`UNCOMPRESSED` when none is recognised."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return UNCOMPRESSED


class _Prefixed(io.RawIOBase):
    """``prefix`` then the rest of ``stream``: puts back the bytes read to sniff."""

    def __init__(self, prefix: bytes, stream: Reader) -> None:
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(view))
        if not data:
            return 0
        view[: len(data)] = data
        return len(data)


def _read_head(stream: Reader) -> bytes:
    head = b""
    while len(head) < _HEAD:
        chunk = stream.read(_HEAD - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError:
        raise errdefs.NotImplemented(
            "zstd-compressed layers need the 'zstandard' Python package, which is not installed"
        ) from None
    return zstandard


def decompress(stream: Reader) -> tuple[Reader, str]:
    """A reader of ``stream``'s uncompressed bytes and the compression found."""
    head = _read_head(stream)
    kind = detect(head)
    raw = io.BufferedReader(_Prefixed(head, stream), 1 << 16)
    if kind == GZIP:
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="rb"), kind
    if kind == ZSTD:
        zstd = _zstandard()
        reader = zstd.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return reader, kind
    if kind == BZIP2:
        import bz2

        return bz2.BZ2File(raw, "rb"), kind
    if kind == XZ:
        import lzma

        return lzma.LZMAFile(raw, "rb"), kind
    return raw, kind


def compressor(out: IO[bytes], kind: str, level: int | None = None) -> Writer:
    """A writer that compresses into ``out``; closing it finishes the stream and leaves
    ``out`` open. ``kind`` is :data:`GZIP`, :data:`ZSTD` or :data:`UNCOMPRESSED`."""
    if kind == GZIP:
        import gzip

        return gzip.GzipFile(
            filename="", mode="wb", fileobj=out, mtime=0,
            compresslevel=6 if level is None else level,
        )  # fmt: skip
    if kind == ZSTD:
        zstd = _zstandard()
        c = zstd.ZstdCompressor(level=3 if level is None else level)
        writer: Writer = c.stream_writer(out, closefd=False)
        return writer
    if kind == UNCOMPRESSED:
        return _Uncloseable(out)
    raise InvalidArgument(f"unsupported layer compression {kind!r}")


class _Uncloseable(io.RawIOBase):
    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return self._out.write(b)
