"""One berthd per data root and per exec root.

``<root>/berthd.lock`` and ``<exec-root>/berthd.pid`` are each held with flock(2) for the
daemon's life and contain its pid, so a second berthd on the same root (or sharing the
exec root, where the socket lives) is refused with the first one's pid. flock locks die
with the process, so a crashed daemon never leaves a lock behind — only a stale file,
which the next daemon simply locks again.
"""

from __future__ import annotations

import fcntl
import os

from berth.errdefs import FailedPrecondition, from_oserror

__all__ = ["DaemonLock"]


class DaemonLock:
    def __init__(self, root: str, exec_root: str) -> None:
        self.paths = [os.path.join(root, "berthd.lock"), os.path.join(exec_root, "berthd.pid")]
        self._fds: list[int] = []

    def acquire(self) -> None:
        try:
            for path, what in zip(self.paths, ("--root", "--exec-root"), strict=True):
                self._fds.append(self._lock(path, what))
        except BaseException:
            self.release()
            raise

    def _lock(self, path: str, what: str) -> int:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise from_oserror(f"open {path!r}", exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            where = os.path.dirname(path)
            raise FailedPrecondition(
                f"another berthd (pid {pid}) is running with {what} {where!r}: "
                f"stop it first or choose another {what}"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise from_oserror(f"lock {path!r}", exc) from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def release(self) -> None:
        """Empty the files, remove the pid file, drop the locks."""
        for path, fd in zip(self.paths, self._fds, strict=False):
            try:
                os.ftruncate(fd, 0)
                if path.endswith(".pid"):
                    os.unlink(path)
            except OSError:
                pass
            os.close(fd)
        self._fds.clear()
