"""Reading json-file logs back: ``docker logs`` with ``--tail``, ``--since``, ``--until``,
``-t`` and ``-f``, over the rotated files (``<file>.N[.gz]`` oldest first, then ``<file>``).

Order of filters as in moby's ``jsonfilelog`` reader: ``tail`` picks the last N records
across all files first, then ``since`` (inclusive) drops older ones and ``until``
(inclusive) ends the stream. ``follow`` keeps reading the live file after the backlog,
notices rotation (the path names another inode: finish the old file, then open the new
one) and ends when ``stop()`` says the writer is done (the container exited) and
everything written has been read.
"""

from __future__ import annotations

import os
import time

from berth import errdefs
from berth.logs.timefmt import format_fixed, parse_time
from berth.oci import fastjson

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["Record", "log_files", "read"]


class Record:
    """One log record: ``stream`` ("stdout" or "stderr"), ``time`` (ns since the epoch,
    UTC) and the bytes written (with their ``\\n`` unless a partial record)."""

    __slots__ = ("line", "stream", "time")

    def __init__(self, stream: str, time: int, line: bytes) -> None:
        self.stream = stream
        self.time = time
        self.line = line

    def render(self, timestamps: bool = False) -> bytes:
        """The payload ``docker logs`` sends: the bytes, prefixed by the time in
        RFC3339NanoFixed and a space with ``timestamps``."""
        if timestamps:
            return format_fixed(self.time).encode() + b" " + self.line
        return self.line

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and (self.stream, self.time, self.line) == (
            other.stream,
            other.time,
            other.line,
        )

    def __hash__(self) -> int:
        return hash((self.stream, self.time, self.line))

    def __repr__(self) -> str:
        return f"Record({self.stream!r}, {self.time}, {self.line!r})"


def decode(raw: bytes) -> Record:
    """Parse one log-file line."""
    try:
        d = fastjson.loads(raw)
        return Record(
            d.get("stream", ""), parse_time(d["time"]), d.get("log", "").encode("utf-8", "replace")
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise errdefs.Internal(f"decode log record {raw[:80]!r}: {exc}") from None


def log_files(path: str) -> list[str]:
    """The files of one log, oldest first."""
    rotated: list[str] = []
    i = 1
    while True:
        for cand in (f"{path}.{i}", f"{path}.{i}.gz"):
            if os.path.exists(cand):
                rotated.append(cand)
                break
        else:
            break
        i += 1
    rotated.reverse()
    if os.path.exists(path):
        rotated.append(path)
    return rotated


def _lines(path: str) -> list[bytes]:
    try:
        if path.endswith(".gz"):
            import gzip

            with gzip.open(path, "rb") as g:
                data = g.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except FileNotFoundError:  # rotated away between listing and opening
        return []
    lines = data.split(b"\n")
    # A last line without its "\n" is a record still being written: the writer's
    # os.write of a record is one call, but a reader may see it half done.
    return [ln for ln in lines[:-1] if ln]


def read(
    path: str,
    *,
    tail: int = -1,
    since: int = 0,
    until: int = 0,
    follow: bool = False,
    stop: Callable[[], bool] | None = None,
    poll: float = 0.05,
) -> Iterator[Record]:
    """Records of the log at ``path``. ``tail`` < 0 means all; ``since``/``until`` are ns
    since the epoch, 0 for no bound; with ``follow``, wait for new records until ``stop()``
    returns true (never, without ``stop``)."""
    files = log_files(path)
    live_fd = -1
    if follow:
        try:
            live_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            live_fd = -1
    try:
        # The backlog: the rotated files whole, the live file up to where live_fd will
        # carry on (read through the same descriptor, so no record is seen twice).
        backlog: list[bytes] = []
        pending = b""
        for f in files:
            if f == path and live_fd >= 0:
                chunk = _read_all(live_fd)
                *whole, pending = chunk.split(b"\n")
                backlog.extend(ln for ln in whole if ln)
            else:
                backlog.extend(_lines(f))
        if tail >= 0:
            backlog = backlog[len(backlog) - tail :] if tail else []
        for raw in backlog:
            rec = decode(raw)
            if since and rec.time < since:
                continue
            if until and rec.time > until:
                return
            yield rec
        if not follow:
            return
        fd, live_fd = live_fd, -1  # _follow owns it from here
        yield from _follow(path, fd, pending, since, until, stop, poll)
    finally:
        if live_fd >= 0:
            try:
                os.close(live_fd)
            except OSError:
                pass


def _read_all(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, 1 << 16):
        parts.append(chunk)
    return b"".join(parts)


def _follow(
    path: str,
    fd: int,
    pending: bytes,
    since: int,
    until: int,
    stop: Callable[[], bool] | None,
    poll: float,
) -> Iterator[Record]:
    try:
        while True:
            if fd < 0:
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    fd = -1
            chunk = _read_all(fd) if fd >= 0 else b""
            if chunk:
                *whole, pending = (pending + chunk).split(b"\n")
                for raw in whole:
                    if not raw:
                        continue
                    rec = decode(raw)
                    if since and rec.time < since:
                        continue
                    if until and rec.time > until:
                        return
                    yield rec
                continue
            if fd >= 0 and _rotated(path, fd):
                # Everything of the old file has been read (chunk was empty): move on.
                os.close(fd)
                fd = -1
                pending = b""
                continue
            if stop is not None and stop():
                # One more pass: records written just before the writer stopped.
                chunk = _read_all(fd) if fd >= 0 else b""
                if not chunk:
                    return
                *whole, pending = (pending + chunk).split(b"\n")
                for raw in whole:
                    if raw:
                        rec = decode(raw)
                        if (not since or rec.time >= since) and (not until or rec.time <= until):
                            yield rec
                return
            time.sleep(poll)
    finally:
        if fd >= 0:
            os.close(fd)


def _rotated(path: str, fd: int) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False  # mid-rotation: the new file is not there yet
    cur = os.fstat(fd)
    # Renamed away (another inode now) or truncated in place (max-file=1).
    return st.st_ino != cur.st_ino or st.st_size < os.lseek(fd, 0, os.SEEK_CUR)
