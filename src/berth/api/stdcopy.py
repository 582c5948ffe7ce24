"""The multiplexed stream format (moby ``pkg/stdcopy``; README §3.2).

Non-TTY attach, exec and logs carry stdout and stderr on one byte stream as frames::

    [stream: 1 byte][0, 0, 0][size: uint32 big-endian][payload: size bytes]

``stream`` is 0 for stdin (never sent by a server), 1 for stdout, 2 for stderr, and 3 for
a system error that ends the stream (moby's ``Systemerr``; the payload is the message).
TTY streams are raw bytes without frames. Pure functions, no I/O: the server frames
writes with :func:`frame`; a client or a test feeds received bytes to a :class:`Demuxer`.
"""

from __future__ import annotations

__all__ = ["STDERR", "STDIN", "STDOUT", "SYSERR", "Demuxer", "demux", "frame"]

STDIN = 0
STDOUT = 1
STDERR = 2
SYSERR = 3

_HEADER = 8
_MAX = 0xFFFFFFFF


def frame(stream: int, payload: bytes) -> bytes:
    """One frame carrying ``payload`` on ``stream``; payloads over 4 GiB - 1 are split."""
    if not 0 <= stream <= SYSERR:
        raise ValueError(f"invalid stream {stream}")
    if len(payload) <= _MAX:
        return bytes((stream, 0, 0, 0)) + len(payload).to_bytes(4, "big") + payload
    parts = []
    for i in range(0, len(payload), _MAX):
        parts.append(frame(stream, payload[i : i + _MAX]))
    return b"".join(parts)


class Demuxer:
    """Incremental decoder: :meth:`feed` bytes as they arrive, get whole frames back.

    A header whose stream byte is not 0..3 or whose padding is not zero raises
    ``ValueError`` (the peer is not speaking the multiplexed format, e.g. a TTY stream).
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        out: list[tuple[int, bytes]] = []
        buf = self._buf
        pos = 0
        while len(buf) - pos >= _HEADER:
            stream = buf[pos]
            if stream > SYSERR or buf[pos + 1 : pos + 4] != b"\0\0\0":
                raise ValueError(f"invalid multiplexed stream header {bytes(buf[pos : pos + 8])!r}")
            size = int.from_bytes(buf[pos + 4 : pos + 8], "big")
            if len(buf) - pos - _HEADER < size:
                break
            start = pos + _HEADER
            out.append((stream, bytes(buf[start : start + size])))
            pos = start + size
        del buf[:pos]
        return out

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)


def demux(data: bytes) -> list[tuple[int, bytes]]:
    """All frames in ``data``, which must end on a frame boundary."""
    d = Demuxer()
    frames = d.feed(data)
    if d.pending:
        raise ValueError(f"multiplexed stream truncated: {d.pending} bytes of a partial frame")
    return frames
