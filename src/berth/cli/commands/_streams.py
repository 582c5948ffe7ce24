"""The CLI's side of a hijacked attach or exec connection (moby ``cli/command/container/
hijack.go``, ``tty.go``, ``signals.go``; README §3.1, §3.2).

* Output: without a TTY the daemon multiplexes stdout and stderr into frames
  (:mod:`berth.api.stdcopy`), which :class:`OutputSink` splits back onto the local
  streams; with a TTY the bytes are raw and go to stdout as they are.
* Input: when stdin is attached, a thread copies it to the socket and half-closes the
  socket at EOF (``shutdown(SHUT_WR)``: the process sees the end of its stdin, output
  keeps flowing until it exits); when stdin is not attached the socket is half-closed at
  once, as docker does.
* TTY: the local terminal is put in raw mode (:class:`RawTerminal`) so that keys reach
  the container unprocessed, its size is sent at start and on ``SIGWINCH``
  (:func:`monitor_size`), and the detach sequence (``ctrl-p,ctrl-q`` by default) is
  watched for in the input (:class:`EscapeProxy`): typing it ends the session and leaves
  the container running.
* Signals: without a TTY, ``--sig-proxy`` forwards the signals the CLI receives to the
  container (:func:`proxy_signals`).
"""

from __future__ import annotations

import os

from berth.api.stdcopy import STDERR, SYSERR, Demuxer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, BinaryIO

    from berth.client.transport import Hijacked

__all__ = [
    "DEFAULT_DETACH_KEYS",
    "EscapeProxy",
    "OutputSink",
    "RawTerminal",
    "StreamError",
    "monitor_size",
    "parse_detach_keys",
    "proxy_signals",
    "stream",
    "terminal_size",
]

DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p, ctrl-q


class StreamError(Exception):
    """The daemon ended a multiplexed stream with a system error frame."""


def parse_detach_keys(spec: str) -> bytes:
    """``ctrl-p,ctrl-q`` → ``b"\\x10\\x11"`` (moby/term ``ToBytes``)."""
    out = bytearray()
    for key in spec.split(","):
        k = key.strip()
        if len(k) > 1 and k.lower().startswith("ctrl-"):
            c = k[5:].upper()
            if len(c) == 1 and 0x40 <= ord(c) <= 0x5F:  # ctrl-@ … ctrl-_ (A-Z in between)
                out.append(ord(c) - 0x40)
            else:
                raise ValueError(f"Unknown character: '{c}'")
        elif len(k) == 1:
            out.append(ord(k))
        else:
            raise ValueError(f"Unknown character: '{k}'")
    return bytes(out)


class EscapeProxy:
    """Watches input for the detach sequence. Bytes that may begin the sequence are held
    back; on a mismatch they are released, on a full match the session detaches."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = 0

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to send on, whether the sequence was completed)."""
        if not self.keys:
            return data, False
        out = bytearray()
        for b in data:
            if b == self.keys[self.held]:
                self.held += 1
                if self.held == len(self.keys):
                    self.held = 0
                    return bytes(out), True
                continue
            out += self.keys[: self.held]
            self.held = 0
            if b == self.keys[0]:
                self.held = 1
            else:
                out.append(b)
        return bytes(out), False


class OutputSink:
    """Where received bytes go: raw to ``out`` (TTY) or demultiplexed onto ``out`` and
    ``err``."""

    def __init__(self, out: BinaryIO, err: BinaryIO, tty: bool) -> None:
        self.out = out
        self.err = err
        self.tty = tty
        self._demux = None if tty else Demuxer()

    def write(self, data: bytes) -> None:
        if self._demux is None:
            self.out.write(data)
            self.out.flush()
            return
        for stream, payload in self._demux.feed(data):
            if stream == SYSERR:
                raise StreamError(payload.decode("utf-8", "replace"))
            target = self.err if stream == STDERR else self.out
            target.write(payload)
            target.flush()


class RawTerminal:
    """Puts the terminal ``fd`` in raw mode for the ``with`` block (cfmakeraw, as moby/term
    ``MakeRaw``) and restores it after, whatever happens."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._saved: Any = None

    def __enter__(self) -> RawTerminal:
        import termios
        import tty

        self._saved = termios.tcgetattr(self.fd)
        tty.setraw(self.fd, termios.TCSANOW)
        return self

    def restore(self) -> None:
        """Put the saved mode back (once); a terminal that is gone meanwhile (closed, hung
        up) has nothing to restore."""
        saved, self._saved = self._saved, None
        if saved is not None:
            import termios

            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)
            except termios.error:
                pass

    def __exit__(self, *exc: object) -> None:
        self.restore()


def terminal_size(fd: int) -> tuple[int, int]:
    """(height, width) of the terminal on ``fd``, (0, 0) if it is not one."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return 0, 0
    return size.lines, size.columns


def monitor_size(resize: Callable[[int, int], None], fd: int) -> Callable[[], None]:
    """Send the terminal's size now and on every ``SIGWINCH``; returns the function
    that stops watching. Resize failures are ignored (the container may be gone)."""
    import signal

    def send() -> None:
        h, w = terminal_size(fd)
        if h or w:
            try:
                resize(h, w)
            except Exception:  # a failed resize must not end the session
                pass

    send()
    previous = signal.signal(signal.SIGWINCH, lambda _s, _f: send())

    def stop() -> None:
        signal.signal(signal.SIGWINCH, previous)

    return stop


_PROXIED = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCONT", "SIGTSTP")


def proxy_signals(kill: Callable[[str], None]) -> Callable[[], None]:
    """Forward the signals the CLI receives to the container by name (``INT``, ``TERM`` …),
    as ``--sig-proxy`` does; returns the function that stops forwarding."""
    import signal

    saved: list[tuple[int, Any]] = []

    def handler(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name[3:]
        try:
            kill(name)
        except Exception:  # as docker: log it and go on
            pass

    for name in _PROXIED:
        sig = getattr(signal, name, None)
        if sig is not None:
            saved.append((sig, signal.signal(sig, handler)))

    def stop() -> None:
        for sig, prev in saved:
            signal.signal(sig, prev)

    return stop


def stream(
    conn: Hijacked,
    sink: OutputSink,
    stdin_fd: int | None = None,
    escape: EscapeProxy | None = None,
    on_input_end: Callable[[], None] | None = None,
) -> bool:
    """Pump a hijacked connection until the daemon closes it (the process ended) or the
    user detaches. Returns True when the session ended by the detach sequence."""
    import threading

    detached = threading.Event()

    def pump_input(fd: int) -> None:
        try:
            while True:
                try:
                    data = os.read(fd, 32768)
                except OSError:
                    data = b""
                if not data:
                    break
                hit = False
                if escape is not None:
                    data, hit = escape.feed(data)
                if data:
                    conn.sendall(data)
                if hit:
                    detached.set()
                    try:
                        import _socket

                        conn.sock.shutdown(_socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
        except OSError:
            return
        finally:
            if on_input_end is not None:
                on_input_end()
        conn.close_write()

    if stdin_fd is None:
        conn.close_write()
    else:
        threading.Thread(target=pump_input, args=(stdin_fd,), daemon=True).start()
    try:
        while True:
            data = conn.recv()
            if not data:
                break
            sink.write(data)
    finally:
        conn.close()
    return detached.is_set()


def _isatty(stream: Any) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def session(
    conn: Hijacked,
    *,
    tty: bool,
    stdin: Any,
    out: BinaryIO,
    err: BinaryIO,
    detach_keys: str = "",
    resize: Callable[[int, int], None] | None = None,
    kill: Callable[[str], None] | None = None,
) -> bool:
    """One attached session as the docker CLI runs it, after the process was started:
    raw terminal and detach keys when a TTY takes local stdin, the size sent now and on
    ``SIGWINCH`` when stdout is a terminal, signals forwarded when there is no TTY (if
    ``kill`` is given). ``stdin`` is the local input stream, or None when not attached.
    Returns True when the user detached."""
    stdin_fd = stdin.fileno() if stdin is not None else None
    escape = None
    if tty and stdin_fd is not None:
        try:
            keys = parse_detach_keys(detach_keys) if detach_keys else DEFAULT_DETACH_KEYS
        except ValueError:
            keys = DEFAULT_DETACH_KEYS
        escape = EscapeProxy(keys)
    raw = RawTerminal(stdin_fd) if tty and stdin_fd is not None and os.isatty(stdin_fd) else None
    stops: list[Callable[[], None]] = []
    if tty and resize is not None and _isatty(out):
        stops.append(monitor_size(resize, out.fileno()))
    if kill is not None and not tty:
        stops.append(proxy_signals(kill))
    try:
        if raw is not None:
            raw.__enter__()
        return stream(conn, OutputSink(out, err, tty), stdin_fd, escape, raw.restore if raw else None)
    finally:
        if raw is not None:
            raw.restore()
        for stop in stops:
            stop()
