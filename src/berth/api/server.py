"""The Engine API server: version prefixes, routing, errors, listeners.

Every request goes through :meth:`ApiServer.dispatch`:

1. ``/vX.Y/rest`` is split into the API version ``X.Y`` and the path ``/rest`` (README
   §1.4); an unversioned path is served at the current version (:data:`API_VERSION`);
2. the router finds the handler; none → 404 ``page not found`` (a wrong method too);
3. a version newer than ours → 400 ``client version X.Y is too new. Maximum supported API
   version is 1.41``; older than the minimum → 400 ``… is too old …`` (as text/plain,
   since such old clients read errors that way);
4. the handler runs; a :class:`berth.errdefs.BerthError` becomes its status and
   ``{"message": …}``; anything else is logged and answered 500.

Every response carries ``Api-Version``, ``Docker-Experimental``, ``Ostype`` and
``Server``. The same server answers on any number of listeners: unix sockets the daemon
made (with their ownership and mode) and TLS TCP sockets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl

import berth
from berth.api.errors import error_response
from berth.api.http import Connection, ProtocolError
from berth.api.request import Request
from berth.api.response import Reply
from berth.api.router import Router
from berth.api.wire import API_VERSION, MIN_API_VERSION, version_less
from berth.errdefs import BerthError, InvalidArgument, NotFound

__all__ = ["ApiServer", "split_version"]

log = logging.getLogger("berth.api")

_VERSION_CHARS = frozenset("0123456789.")


def split_version(path: str) -> tuple[str | None, str]:
    """``("1.41", "/info")`` for ``/v1.41/info``; ``(None, path)`` for an unversioned path."""
    if path.startswith("/v"):
        i = path.find("/", 2)
        if i > 2 and set(path[2:i]) <= _VERSION_CHARS:
            return path[2:i], path[i:]
    return None, path


class ApiServer:
    def __init__(self, router: Router, *, experimental: bool = False) -> None:
        self.router = router
        self.headers = {
            "Api-Version": API_VERSION,
            "Docker-Experimental": "true" if experimental else "false",
            "Ostype": "linux",
            "Server": f"berth/{berth.__version__} (linux)",
        }
        self._servers: list[asyncio.Server] = []
        self._conns: set[asyncio.Task[None]] = set()
        self._closing = False

    async def dispatch(self, req: Request) -> Reply:
        version, path = split_version(req.path)
        req.api_version = version or API_VERSION
        what = f"{req.method} {req.path}"
        log.debug("calling %s", what)
        try:
            match = self.router.match(req.method, path)
            if match is None:
                raise NotFound("page not found")
            if version is not None:
                if version_less(API_VERSION, version):
                    raise InvalidArgument(
                        f"client version {version} is too new. "
                        f"Maximum supported API version is {API_VERSION}"
                    )
                if version_less(version, MIN_API_VERSION):
                    raise InvalidArgument(
                        f"client version {version} is too old. Minimum supported API version "
                        f"is {MIN_API_VERSION}, please upgrade your client to a newer version"
                    )
            req.path = path
            req.params = match.params
            return await match.handler(req)
        except ProtocolError:
            raise  # a broken body: the connection answers 400 and closes
        except BerthError as exc:
            log.debug("%s: %s", what, exc.message)
            return error_response(exc, req.api_version, what)
        except Exception as exc:
            return error_response(exc, req.api_version, what)

    # --- listeners ---

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._closing:  # accepted just as the server closed
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            await Connection(reader, writer, self.dispatch, self.headers).serve()
        finally:
            self._conns.discard(task)

    async def serve_socket(self, sock: socket.socket, ssl_context: ssl.SSLContext | None = None) -> None:
        """Accept connections on a bound, listening socket (unix or TCP)."""
        if sock.family == socket.AF_UNIX:
            server = await asyncio.start_unix_server(self._client, sock=sock, ssl=ssl_context)
        else:
            server = await asyncio.start_server(self._client, sock=sock, ssl=ssl_context)
        self._servers.append(server)

    async def listen_unix(self, path: str, mode: int = 0o600) -> None:
        """Bind a fresh unix socket at ``path`` with ``mode`` (tests; the daemon makes
        its sockets itself, see :mod:`berth.daemon.listeners`)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o777 & ~mode)
        try:
            sock.bind(path)
        finally:
            os.umask(old)
        sock.listen(128)
        sock.setblocking(False)
        await self.serve_socket(sock)

    async def close(self) -> None:
        """Stop listening, end every open connection (streams and hijacks too)."""
        self._closing = True
        # Stop accepting first and let accepts already under way attach their transports:
        # asyncio (3.11) fails an accept that completes after Server.close() and leaves
        # that client connected to nothing.
        loop = asyncio.get_running_loop()
        for server in self._servers:
            for sock in server.sockets:
                loop.remove_reader(sock.fileno())
        for _ in range(2):
            await asyncio.sleep(0)
        for server in self._servers:
            server.close()
        for task in list(self._conns):
            task.cancel()
        if self._conns:
            await asyncio.wait(list(self._conns), timeout=5)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
