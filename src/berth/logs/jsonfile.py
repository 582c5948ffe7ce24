"""The json-file writer: Docker's record format, its 16 KiB line splitting, and rotation.

Byte-exact with moby's ``daemon/logger/jsonfilelog`` (``jsonlog.JSONLogs.MarshalJSONBuf``
and ``loggerutils.LogFile``): keys in the order ``log``, ``stream``, ``time``; strings
escaped like ffjson (``\\n`` ``\\r`` ``\\"`` ``\\\\`` short, other control bytes and ``<`` ``>``
``&`` as ``\\u00XX``, U+2028/2029 escaped, each invalid UTF-8 byte as ``\\ufffd``,
other non-ASCII kept as UTF-8); the time in RFC3339Nano UTC.
"""

from __future__ import annotations

import os

from berth import errdefs
from berth.logs.timefmt import format_nano

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_MAX_FILE",
    "DEFAULT_MAX_SIZE",
    "MAX_LINE",
    "LineSplitter",
    "Options",
    "Writer",
    "encode",
    "parse_size",
]

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_FILE = 3
MAX_LINE = 16 * 1024  # moby's copier buffer: longer lines become partial records

_TABLE: dict[int, str] = {c: f"\\u{c:04x}" for c in range(0x20)}
_TABLE.update({ord("\n"): "\\n", ord("\r"): "\\r", ord('"'): '\\"', ord("\\"): "\\\\"})
_TABLE.update({ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"})
_TABLE.update({0x2028: "\\u2028", 0x2029: "\\u2029"})


def _escape(data: bytes) -> bytes:
    s = data.decode("utf-8", "surrogateescape").translate(_TABLE)
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        # surrogateescape turned each invalid byte into one lone surrogate: Go's
        # DecodeRune also yields one RuneError per invalid byte.
        return "".join("\\ufffd" if "\udc80" <= c <= "\udcff" else c for c in s).encode(
            "utf-8", "replace"
        )


def encode(stream: str, line: bytes, ns: int) -> bytes:
    """One log-file line (with its final ``\\n``) for ``line`` written on ``stream``."""
    t = format_nano(ns).encode()
    if not line:
        return b'{"stream":"' + stream.encode() + b'","time":"' + t + b'"}\n'
    return (
        b'{"log":"'
        + _escape(line)
        + b'","stream":"'
        + stream.encode()
        + b'","time":"'
        + t
        + b'"}\n'
    )


def parse_size(value: str) -> int:
    """Docker's ``units.RAMInBytes``: ``10m``, ``1.5g``, ``512k``, ``100``, ``20mb``
    (binary multiples, case-insensitive); ``-1`` means unlimited."""
    v = value.strip().lower()
    if v == "-1":
        return -1
    if v.endswith("ib"):
        v = v[:-2]
    elif v.endswith("b"):
        v = v[:-1]
    mult = 1
    if v and v[-1] in "kmgtp":
        mult = 1024 ** ("kmgtp".index(v[-1]) + 1)
        v = v[:-1]
    try:
        n = float(v)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid size: '{value}'") from None
    if n < 0:
        raise errdefs.InvalidArgument(f"invalid size: '{value}'")
    return int(n * mult)


class Options:
    """The driver's ``--log-opt`` values: ``max-size`` (bytes, -1 unlimited), ``max-file``
    and ``compress``. Defaults rotate (10m, 3 files)."""

    __slots__ = ("compress", "max_file", "max_size")

    def __init__(
        self,
        max_size: int = DEFAULT_MAX_SIZE,
        max_file: int = DEFAULT_MAX_FILE,
        compress: bool = False,
    ) -> None:
        self.max_size = max_size
        self.max_file = max_file
        self.compress = compress

    @classmethod
    def parse(cls, opts: Mapping[str, str]) -> Options:
        o = cls()
        for k, v in opts.items():
            if k == "max-size":
                o.max_size = parse_size(v)
            elif k == "max-file":
                try:
                    o.max_file = int(v)
                except ValueError:
                    raise errdefs.InvalidArgument(f"invalid value for max-file: '{v}'") from None
                if o.max_file < 1:
                    raise errdefs.InvalidArgument("max-file cannot be less than 1")
            elif k == "compress":
                if v.lower() not in ("true", "false", "1", "0"):
                    raise errdefs.InvalidArgument(f"invalid value for compress: '{v}'")
                o.compress = v.lower() in ("true", "1")
            elif k not in ("labels", "labels-regex", "env", "env-regex", "tag"):
                raise errdefs.InvalidArgument(f"unknown log opt '{k}' for json-file log driver")
        if o.max_size == -1 and ("max-file" in opts or "compress" in opts):
            # Docker: both need a size to rotate at.
            raise errdefs.InvalidArgument("max-file and compress need max-size")
        return o

    def to_args(self) -> list[str]:
        """``key=value`` strings that :meth:`parse` reads back (the shim's command line)."""
        return [
            f"max-size={self.max_size}",
            f"max-file={self.max_file}",
            f"compress={'true' if self.compress else 'false'}",
        ]


class Writer:
    """Appends records to ``path``, rotating as :class:`Options` say. Not thread safe."""

    def __init__(self, path: str, options: Options | None = None) -> None:
        self.path = path
        self.options = options or Options()
        self._fd = self._open()
        self._size = os.fstat(self._fd).st_size

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def write(self, stream: str, line: bytes, ns: int) -> None:
        """Write one record; ``line`` keeps its ``\\n`` when complete (see :class:`LineSplitter`)."""
        rec = encode(stream, line, ns)
        if self.options.max_size > 0 and self._size >= self.options.max_size:
            self._rotate()
        view = memoryview(rec)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self._size += len(rec)

    def _rotate(self) -> None:
        o = self.options
        if o.max_file < 2:
            os.ftruncate(self._fd, 0)
            self._size = 0
            return
        ext = ".gz" if o.compress else ""
        last = f"{self.path}.{o.max_file - 1}{ext}"
        try:
            os.unlink(last)
        except FileNotFoundError:
            pass
        for i in range(o.max_file - 1, 1, -1):
            try:
                os.rename(f"{self.path}.{i - 1}{ext}", f"{self.path}.{i}{ext}")
            except FileNotFoundError:
                pass
        os.close(self._fd)
        os.rename(self.path, f"{self.path}.1")
        self._fd = self._open()
        self._size = 0
        if o.compress:
            _gzip(f"{self.path}.1")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _gzip(path: str) -> None:
    # Imported here: only containers with compress=true pay for gzip (and zlib).
    import gzip

    tmp = path + ".gz.tmp"
    with open(path, "rb") as src, gzip.open(tmp, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.rename(tmp, path + ".gz")
    os.unlink(path)


class LineSplitter:
    """Cuts a process's output into records as moby's copier does: each ``\\n``-ended line;
    16 KiB without a newline as a partial record; what remains at EOF with a ``\\n`` added."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf + data if self._buf else data
        out: list[bytes] = []
        start = 0
        n = len(buf)
        while start < n:
            nl = buf.find(b"\n", start, start + MAX_LINE)
            if nl >= 0:
                out.append(buf[start : nl + 1])
                start = nl + 1
            elif n - start >= MAX_LINE:
                out.append(buf[start : start + MAX_LINE])
                start += MAX_LINE
            else:
                break
        self._buf = buf[start:]
        return out

    def flush(self) -> list[bytes]:
        rest, self._buf = self._buf, b""
        return [rest + b"\n"] if rest else []
