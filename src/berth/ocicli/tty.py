"""Foreground terminal handling for ``run`` and ``exec`` without ``--console-socket``:
berth-runtime itself receives the pty master (over a socketpair standing in for the
console socket) and copies bytes between it and its own stdio, with the local terminal
in raw mode and window-size changes passed on (runc's tty.go does the same)."""

from __future__ import annotations

import os

__all__ = ["ConsoleProxy"]


class ConsoleProxy:
    def __init__(self) -> None:
        import socket

        self._ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.child_fd = theirs.detach()
        self.master = -1
        self._saved: list[object] | None = None

    def receive(self) -> None:
        import socket
        import struct

        os.close(self.child_fd)
        self.child_fd = -1
        _, anc, _, _ = self._ours.recvmsg(1024, socket.CMSG_SPACE(4))
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                self.master = struct.unpack("i", data[:4])[0]
        self._ours.close()
        if self.master < 0:
            from berth.errdefs import Internal

            raise Internal("console: no pty master received from the container")
        self._resize()

    def _resize(self) -> None:
        import fcntl
        import termios

        if os.isatty(0):
            try:
                ws = fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8)
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, ws)
            except OSError:
                pass

    def copy_until_exit(self, pid: int) -> int:
        """Copy until the process exits; returns its shell-style exit code."""
        import select
        import signal
        import termios
        import tty

        status_code: list[int] = []

        def on_chld(_s: int, _f: object) -> None:
            while True:
                try:
                    r, st = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    return
                if r == 0:
                    return
                if r == pid:
                    status_code.append(128 + os.WTERMSIG(st) if os.WIFSIGNALED(st) else os.WEXITSTATUS(st))

        signal.signal(signal.SIGCHLD, on_chld)
        signal.signal(signal.SIGWINCH, lambda _s, _f: self._resize())
        if os.isatty(0):
            self._saved = termios.tcgetattr(0)
            tty.setraw(0)
        try:
            stdin_open = True
            while True:
                fds = [self.master] + ([0] if stdin_open else [])
                try:
                    r, _, _ = select.select(fds, [], [], 0.1)
                except InterruptedError:
                    r = []
                if self.master in r:
                    try:
                        data = os.read(self.master, 65536)
                    except OSError:
                        data = b""
                    if data:
                        os.write(1, data)
                    elif status_code:
                        break
                if 0 in r:
                    data = os.read(0, 65536)
                    if data:
                        os.write(self.master, data)
                    else:
                        stdin_open = False
                if status_code and not r:
                    break
                on_chld(0, None)
        finally:
            if self._saved is not None:
                termios.tcsetattr(0, termios.TCSADRAIN, self._saved)  # type: ignore[arg-type]
        return status_code[0] if status_code else 255
