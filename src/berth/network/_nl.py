"""The netlink seam of :mod:`berth.network`: pyroute2 sockets, in the host's namespace or
in one bound at a path, and pyroute2's errors translated to berth's.

pyroute2 is imported here, lazily, and only by the modules that change links, addresses,
routes and queueing disciplines: the CLI, berth-runtime and berth-shim never load it.

A netlink socket belongs to the network namespace of the thread that created it, for its
whole life. pyroute2's own ``netns=`` option forks a child process to make one (and makes
the namespace when the path is missing); berthd is a threaded asyncio process that should
not fork, so :func:`route` makes the socket on a throwaway thread that setns(2)es into the
namespace and ends — the same trick as :mod:`berth.network.netns` — and hands pyroute2 its
file descriptor. The sync ``IPRoute`` runs its own event loop: call it from a worker thread,
never from the daemon's loop.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from berth import errdefs
from berth.linux import syscalls as sc

if TYPE_CHECKING:
    from pyroute2 import IPRoute

__all__ = ["error", "netns_fd", "route"]

_NETLINK_ROUTE = 0


def _socket_in(path: str) -> socket.socket:
    made: list[socket.socket] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                sc.default().setns(fd, sc.CLONE_NEWNET)
            finally:
                os.close(fd)
            made.append(socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_ROUTE))
        except BaseException as exc:  # handed to the caller
            failure.append(exc)

    t = threading.Thread(target=work, name="netns-socket", daemon=True)
    t.start()
    t.join()
    if failure:
        exc = failure[0]
        if isinstance(exc, OSError):
            raise errdefs.from_oserror(f"enter network namespace '{path}'", exc) from exc
        raise exc
    return made[0]


@contextlib.contextmanager
def route(netns_path: str | None = None) -> Iterator[IPRoute]:
    """An ``IPRoute`` in the host's namespace, or in the one bound at ``netns_path``
    (which must exist: it is never created here)."""
    from pyroute2 import IPRoute

    if netns_path is None:
        ipr = IPRoute(groups=0)
    else:
        sock = _socket_in(netns_path)
        try:
            ipr = IPRoute(groups=0, fileno=sock.detach())
        except BaseException:
            sock.close()
            raise
    try:
        yield ipr
    finally:
        ipr.close()


@contextlib.contextmanager
def netns_fd(path: str) -> Iterator[int]:
    """An open descriptor of the namespace bound at ``path`` (for ``IFLA_NET_NS_FD``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise errdefs.from_oserror(f"open network namespace '{path}'", exc) from exc
    try:
        yield fd
    finally:
        os.close(fd)


def error(what: str, exc: BaseException) -> errdefs.BerthError:
    """``exc`` (a pyroute2 ``NetlinkError`` carrying the errno, or an ``OSError``) as the
    berth error category of its errno, ``what`` naming the object."""
    if isinstance(exc, errdefs.BerthError):
        return exc
    code = getattr(exc, "code", None)
    if isinstance(exc, OSError) and exc.errno:
        return errdefs.from_oserror(what, exc)
    if isinstance(code, int) and code > 0:
        return errdefs.from_oserror(what, OSError(code, os.strerror(code)))
    return errdefs.Internal(f"{what}: {exc}")


def is_errno(exc: BaseException, *codes: int) -> bool:
    """Whether ``exc`` is a netlink or OS error with one of ``codes``."""
    code: Any = getattr(exc, "code", None)
    if not isinstance(code, int) and isinstance(exc, OSError):
        code = exc.errno
    return code in codes
