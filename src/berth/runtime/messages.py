"""The typed protocol between the runtime (parent) and the container's init (child).

Two pipes, one per direction; each message is one JSON object on one line (well under
PIPE_BUF, so writes are atomic). The closed set of message types:

===========  =========  ==============================================================
type         direction  meaning
===========  =========  ==============================================================
go           P → C      you are in the cgroups (and, with a new user ns, mapped): go on
userns       C → P      I made a new user namespace: write my uid/gid maps
pid          C → P      (stage 1) the container's init is this host pid
cgroup_ok    P → C      the init is in its cgroups (sent while the init mounts: moving a
                        process between cgroups waits ~10 ms for an RCU grace period,
                        which overlaps the rootfs work this way)
hooks        C → P      mounts are done: run prestart and createRuntime hooks now
hooks_done   P → C      they ran
ready        C → P      init is set up and waits on exec.fifo (``create`` is done)
error        C → P      ``{"errno": int, "msg": str}``; the child exits after sending it
===========  =========  ==============================================================

A child's failure travels back as (type, errno, message) and the parent raises it with
the right category (:func:`berth.errdefs.from_oserror` semantics), so nothing inside the
child ever has to print.
"""

from __future__ import annotations

import errno as _errno
import os

from berth.errdefs import BerthError, Internal, InvalidArgument, NotFound, PermissionDenied
from berth.oci import fastjson

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["TYPES", "Channel", "ChildError"]

TYPES = frozenset({"go", "userns", "pid", "cgroup_ok", "hooks", "hooks_done", "ready", "error"})


class ChildError(Exception):
    """An error reported by the child over the channel."""

    def __init__(self, err: int, msg: str, category: str = "") -> None:
        super().__init__(msg)
        self.errno = err
        self.msg = msg
        self.category = category

    def as_berth(self) -> BerthError:
        cls: type[BerthError]
        cls = {
            "InvalidArgument": InvalidArgument,
            "NotFound": NotFound,
            "PermissionDenied": PermissionDenied,
        }.get(self.category, Internal)
        if not self.category:
            cls = {_errno.ENOENT: NotFound, _errno.EPERM: PermissionDenied, _errno.EACCES: PermissionDenied,
                   _errno.EINVAL: InvalidArgument}.get(self.errno, Internal)  # fmt: skip
        e = cls(self.msg)
        e.errno = self.errno  # type: ignore[attr-defined]
        return e


class Channel:
    """One end of the pipe pair: ``rfd`` to read from, ``wfd`` to write to."""

    __slots__ = ("_buf", "rfd", "wfd")

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd = rfd
        self.wfd = wfd
        self._buf = b""

    @staticmethod
    def pair() -> tuple[Channel, Channel]:
        """(parent end, child end)."""
        p2c_r, p2c_w = os.pipe2(os.O_CLOEXEC)
        c2p_r, c2p_w = os.pipe2(os.O_CLOEXEC)
        return Channel(c2p_r, p2c_w), Channel(p2c_r, c2p_w)

    def send(self, type_: str, **fields: Any) -> None:
        assert type_ in TYPES, type_
        fields["type"] = type_
        data = (fastjson.dumps(fields) + "\n").encode()
        try:
            while data:
                n = os.write(self.wfd, data)
                data = data[n:]
        except BrokenPipeError:
            pass  # the other side is gone; the next recv() reports why (its error or EOF)

    def send_error(self, exc: BaseException) -> None:
        err = getattr(exc, "errno", 0) or 0
        if isinstance(exc, BerthError):
            msg, cat = exc.message, type(exc).__name__
        elif isinstance(exc, OSError):
            msg, cat = (exc.strerror or str(exc)), ""
            if exc.filename is not None:
                msg = f"{msg}: {exc.filename!r}"
        else:
            msg, cat = f"{type(exc).__name__}: {exc}", "Internal"
        try:
            self.send("error", errno=err, msg=msg, category=cat)
        except OSError:
            pass

    def recv(self) -> dict[str, Any] | None:
        """The next message, or None at end of stream (the other side exited)."""
        while b"\n" not in self._buf:
            try:
                chunk = os.read(self.rfd, 65536)
            except InterruptedError:
                continue
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        msg: dict[str, Any] = fastjson.loads(line)
        if msg.get("type") == "error":
            raise ChildError(msg.get("errno", 0), msg.get("msg", "unknown error"), msg.get("category", ""))
        return msg

    def expect(self, type_: str, context: str) -> dict[str, Any]:
        msg = self.recv()
        if msg is None:
            raise Internal(f"{context}: the container's init exited before it was ready")
        if msg["type"] != type_:
            raise Internal(f"{context}: unexpected message {msg['type']!r} (wanted {type_!r})")
        return msg

    def close(self) -> None:
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass
