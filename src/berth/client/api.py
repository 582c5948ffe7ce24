"""An Engine API client: what the berth CLI (and tests, and scripts) call berthd through.

Version negotiation is the docker CLI's: unless a version is pinned (``version=`` or
``BERTH_API_VERSION``), the first request is preceded by ``HEAD /_ping`` on the same
connection (``GET`` if HEAD is refused) and the client then speaks
``min(API_VERSION, Api-Version)`` — or 1.24 when the daemon sends no header. Error
responses become :mod:`berth.errdefs` categories by status (README §3.5); the message is
the body's ``message`` when the type is exactly ``application/json``, else the body. A
daemon that cannot be reached is :class:`CannotConnect`.

Wire values are returned as decoded JSON (PascalCase keys, as dockerd sends them).
"""

from __future__ import annotations

from berth import errdefs
from berth.api.wire import (
    API_VERSION,
    FALLBACK_API_VERSION,
    MEDIA_JSON,
    category_for_status,
    compare_versions,
)
from berth.buildinfo import VERSION
from berth.client.transport import Hijacked, ProtocolError, Response, UnixTransport
from berth.errdefs import BerthError, InvalidArgument, Unavailable
from berth.oci.fastjson import dumps, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from typing import Any, BinaryIO

    from berth.client.transport import Transport

__all__ = ["DEFAULT_HOST", "CannotConnect", "Client", "Hijacked", "Ping", "encode_query", "socket_path"]

DEFAULT_HOST = "unix:///run/berth/berth.sock"

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class CannotConnect(Unavailable):
    """The daemon's socket does not answer."""


def _quote(value: str, plus: bool) -> str:
    out = []
    for b in value.encode():
        if b in _SAFE:
            out.append(chr(b))
        elif b == 0x20 and plus:
            out.append("+")
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def encode_query(query: Mapping[str, object] | Iterable[tuple[str, object]]) -> str:
    """``a=1&b=x+y`` as Go's url.Values.Encode writes it; booleans as ``1``/``0``, None
    values left out, lists repeated."""
    pairs = query.items() if hasattr(query, "items") else query
    out = []
    for key, value in pairs:
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, bool):
                v = "1" if v else "0"
            out.append(f"{_quote(str(key), True)}={_quote(str(v), True)}")
    return "&".join(out)


def socket_path(host: str) -> str:
    """The socket path of a ``unix://`` host (or a bare absolute path)."""
    if host.startswith("unix://"):
        path = host[7:]
    elif host.startswith("/"):
        path = host
    elif host.startswith("tcp://"):
        raise errdefs.NotImplemented(f"cannot connect to {host}: the berth client speaks only unix:// for now")
    else:
        raise InvalidArgument(f"invalid host {host!r}: expected unix:///path")
    if not path.startswith("/"):
        raise InvalidArgument(f"invalid host {host!r}: the socket path must be absolute")
    return path


class Ping:
    """What ``/_ping`` says: the daemon's API version and platform."""

    __slots__ = ("api_version", "experimental", "os_type")

    def __init__(self, api_version: str, os_type: str, experimental: bool) -> None:
        self.api_version = api_version
        self.os_type = os_type
        self.experimental = experimental


class Client:
    def __init__(
        self,
        host: str = DEFAULT_HOST,
        version: str | None = None,
        transport: Transport | None = None,
        timeout: float | None = None,
    ) -> None:
        self.host = host
        self._transport: Transport = transport or UnixTransport(
            socket_path(host), timeout, f"berth-cli/{VERSION} (linux)"
        )
        self._version = version or None
        self._ping: Ping | None = None

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ---

    def _send(self, method: str, target: str, headers: dict[str, str], body: bytes | Iterator[bytes] | None) -> Response:
        try:
            return self._transport.request(method, target, headers, body)
        except OSError as exc:
            self._transport.close()
            raise self._cannot_connect(exc) from None
        except ProtocolError as exc:
            self._transport.close()
            raise Unavailable(f"error during connect to {self.host}: {exc}") from None

    def _cannot_connect(self, exc: OSError) -> CannotConnect:
        if isinstance(exc, PermissionError):
            return CannotConnect(
                f"permission denied while trying to connect to the berth daemon socket at {self.host}: "
                "is your user in the berth group?"
            )
        return CannotConnect(f"Cannot connect to the berth daemon at {self.host}. Is berthd running?")

    # --- negotiation ---

    def ping(self) -> Ping:
        resp = self._send("HEAD", "/_ping", {}, None)
        resp.read()
        if resp.status != 200:
            resp = self._send("GET", "/_ping", {}, None)
            resp.read()
        h = resp.headers
        if resp.status >= 400 and "api-version" not in h:
            raise category_for_status(resp.status)(f"ping {self.host}: {resp.status} {resp.reason}")
        self._ping = Ping(
            h.get("api-version", ""),
            h.get("ostype", ""),
            h.get("docker-experimental", "").lower() == "true",
        )
        return self._ping

    @property
    def api_version(self) -> str:
        """The version requests are made at, negotiated on first use."""
        if self._version is None:
            server = (self._ping or self.ping()).api_version
            if not server:
                self._version = FALLBACK_API_VERSION
            else:
                self._version = API_VERSION if compare_versions(server, API_VERSION) > 0 else server
        return self._version

    @property
    def default_api_version(self) -> str:
        return API_VERSION

    # --- requests ---

    def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, object] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        versioned: bool = True,
    ) -> Response:
        """Send a request; error statuses raise their errdefs category. ``body`` is sent
        as JSON unless it is bytes."""
        target = f"/v{self.api_version}{path}" if versioned else path
        if query:
            q = encode_query(query)
            if q:
                target += "?" + q
        hdrs = dict(headers or {})
        data: Any = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
            elif hasattr(body, "__next__"):  # an iterator of chunks: streamed
                data = body
            else:
                data = dumps(body).encode()
                hdrs.setdefault("Content-Type", MEDIA_JSON)
        resp = self._send(method, target, hdrs, data)
        if resp.status >= 400:
            raise self._error(resp)
        return resp

    def _error(self, resp: Response) -> BerthError:
        raw = resp.read()
        message = ""
        if resp.content_type == MEDIA_JSON:
            try:
                doc = loads(raw)
                if isinstance(doc, dict):
                    message = str(doc.get("message", ""))
            except ValueError:
                message = ""
        if not message:
            message = raw.decode("utf-8", "replace").strip() or f"{resp.status} {resp.reason}".strip()
        err = category_for_status(resp.status)(message)
        err.status = resp.status
        err.from_daemon = True  # type: ignore[attr-defined]
        return err

    def get_json(self, path: str, query: Mapping[str, object] | None = None) -> Any:
        return loads(self.request("GET", path, query).read())

    def post_json(self, path: str, query: Mapping[str, object] | None = None, body: Any = None) -> Any:
        raw = self.request("POST", path, query, body).read()
        return loads(raw) if raw.strip() else None

    # --- system ---

    def version(self) -> dict[str, Any]:
        doc: dict[str, Any] = self.get_json("/version")
        return doc

    def info(self) -> dict[str, Any]:
        doc: dict[str, Any] = self.get_json("/info")
        return doc

    # --- images ---

    def json_messages(self, resp: Response) -> Iterator[dict[str, Any]]:
        """A JSON-message stream (README §3.3), one decoded object at a time."""
        buf = b""
        for data in resp.iter_body():
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    doc = loads(line)
                    if isinstance(doc, dict):
                        yield doc
        if buf.strip():
            doc = loads(buf)
            if isinstance(doc, dict):
                yield doc

    def image_pull(
        self, from_image: str, tag: str = "", registry_auth: str = ""
    ) -> Iterator[dict[str, Any]]:
        """``POST /images/create``: the progress messages; an ``error`` message ends it."""
        query = {"fromImage": from_image, "tag": tag}
        resp = self.request(
            "POST", "/images/create", query, headers={"X-Registry-Auth": registry_auth or "e30="}
        )
        return self.json_messages(resp)

    def image_push(self, name: str, tag: str = "", registry_auth: str = "") -> Iterator[dict[str, Any]]:
        """``POST /images/{name}/push``: the progress messages; an ``error`` message ends it."""
        query = {"tag": tag} if tag else None
        resp = self.request(
            "POST", f"/images/{name}/push", query, headers={"X-Registry-Auth": registry_auth or "e30="}
        )
        return self.json_messages(resp)

    def auth(self, username: str, password: str, server: str) -> dict[str, Any]:
        """``POST /auth``: the daemon checks the credentials against ``server``."""
        body = {"username": username, "password": password, "serveraddress": server}
        doc: dict[str, Any] = self.post_json("/auth", None, body)
        return doc

    def images(
        self, all: bool = False, filters: str = "", digests: bool = False
    ) -> list[dict[str, Any]]:
        query: dict[str, object] = {}
        if all:
            query["all"] = "1"
        if filters:
            query["filters"] = filters
        if digests:
            query["digests"] = "1"
        doc: list[dict[str, Any]] = self.get_json("/images/json", query)
        return doc

    def image_inspect(self, name: str) -> dict[str, Any]:
        doc: dict[str, Any] = self.get_json(f"/images/{name}/json")
        return doc

    def image_history(self, name: str) -> list[dict[str, Any]]:
        doc: list[dict[str, Any]] = self.get_json(f"/images/{name}/history")
        return doc

    def image_tag(self, source: str, repo: str, tag: str) -> None:
        self.request("POST", f"/images/{source}/tag", {"repo": repo, "tag": tag}).read()

    def image_remove(self, name: str, force: bool = False, noprune: bool = False) -> list[dict[str, str]]:
        query: dict[str, object] = {}
        if force:
            query["force"] = "1"
        if noprune:
            query["noprune"] = "1"
        doc: list[dict[str, str]] = loads(self.request("DELETE", f"/images/{name}", query).read())
        return doc

    def images_prune(self, filters: str = "") -> dict[str, Any]:
        doc: dict[str, Any] = self.post_json("/images/prune", {"filters": filters} if filters else None)
        return doc

    def image_save(self, names: list[str]) -> Iterator[bytes]:
        """``GET /images/get``: the tar's bytes as they arrive."""
        resp = self.request("GET", "/images/get", {"names": names})
        yield from resp.iter_body()

    def image_load(self, data: bytes | Iterator[bytes], quiet: bool = False) -> Iterator[dict[str, Any]]:
        """``POST /images/load``: the JSON messages (``stream`` lines, or an ``error``)."""
        resp = self.request(
            "POST", "/images/load", {"quiet": "1" if quiet else "0"}, data,
            headers={"Content-Type": "application/x-tar"},
        )
        return self.json_messages(resp)

    def image_import(
        self, data: bytes | Iterator[bytes], repo: str = "", tag: str = "", changes: list[str] | None = None,
        message: str = "",
    ) -> Iterator[dict[str, Any]]:
        """``POST /images/create?fromSrc=-``: the JSON messages (the new id, or an ``error``)."""
        query = {"fromSrc": "-", "repo": repo or None, "tag": tag or None, "message": message or None, "changes": changes or None}
        resp = self.request("POST", "/images/create", query, data, headers={"Content-Type": "application/x-tar"})
        return self.json_messages(resp)

    # --- build ---

    def build(
        self,
        context: Iterable[bytes] | BinaryIO,
        query: Mapping[str, object] | None = None,
        registry_config: str = "",
    ) -> Iterator[dict[str, Any]]:
        """``POST /build`` (the classic builder): ``context`` (a tar, as chunks or a file)
        is streamed chunked as it is produced; the JSON messages are yielded as they
        arrive (``stream`` text, ``aux`` with the image id, a final ``error``).
        ``registry_config`` is the base64 JSON ``X-Registry-Config`` header."""
        if hasattr(context, "read"):
            f = context

            def read_chunks() -> Iterator[bytes]:
                while data := f.read(1 << 20):  # type: ignore[union-attr]
                    yield data

            chunks: Iterator[bytes] = read_chunks()
        else:
            chunks = iter(context)  # type: ignore[arg-type]
        headers = {"Content-Type": "application/x-tar", "X-Registry-Config": registry_config or "e30="}
        resp = self.request("POST", "/build", query, chunks, headers=headers)
        return self.json_messages(resp)

    def build_prune(
        self, all: bool = False, filters: str = "", keep_storage: int = 0
    ) -> dict[str, Any]:
        """``POST /build/prune``: ``{"CachesDeleted": [...], "SpaceReclaimed": N}``."""
        query: dict[str, object] = {}
        if all:
            query["all"] = "1"
        if filters:
            query["filters"] = filters
        if keep_storage:
            query["keep-storage"] = keep_storage
        doc: dict[str, Any] = self.post_json("/build/prune", query or None)
        return doc

    # --- connections ---

    def side(self) -> Client:
        """A client on its own connection, at this client's negotiated version (``run``
        holds ``wait`` open on one connection while it starts the container on another)."""
        fork = getattr(self._transport, "fork", None)
        if fork is None:
            raise errdefs.NotImplemented("this transport cannot open another connection")
        return Client(self.host, self.api_version, fork())

    def hijack(
        self,
        path: str,
        query: Mapping[str, object] | None = None,
        body: Any = None,
    ) -> Hijacked:
        """``POST`` an upgrade request (attach, exec start) and take over the socket;
        an error status raises its errdefs category (README §3.1)."""
        target = f"/v{self.api_version}{path}"
        if query:
            q = encode_query(query)
            if q:
                target += "?" + q
        hijack = getattr(self._transport, "hijack", None)
        if hijack is None:
            raise errdefs.NotImplemented("this transport cannot hijack a connection")
        if body is None:
            hdrs, data = {"Content-Type": "text/plain"}, b""
        else:
            hdrs, data = {"Content-Type": MEDIA_JSON}, dumps(body).encode()
        try:
            got: Response | Hijacked = hijack("POST", target, hdrs, data)
        except OSError as exc:
            raise self._cannot_connect(exc) from None
        except ProtocolError as exc:
            raise Unavailable(f"error during connect to {self.host}: {exc}") from None
        if isinstance(got, Response):
            if got.status >= 400:
                raise self._error(got)
            got.read()
            raise Unavailable(f"{path}: the daemon did not switch protocols ({got.status} {got.reason})")
        return got

    # --- containers ---

    def container_create(
        self, body: Mapping[str, Any] | bytes, name: str = "", platform: str = ""
    ) -> dict[str, Any]:
        """``POST /containers/create``: ``{"Id", "Warnings"}``."""
        query = {"name": name or None, "platform": platform or None}
        headers = {"Content-Type": MEDIA_JSON} if isinstance(body, bytes) else None
        doc: dict[str, Any] = loads(self.request("POST", "/containers/create", query, body, headers).read())
        return doc

    def container_inspect(self, ref: str) -> dict[str, Any]:
        doc: dict[str, Any] = self.get_json(f"/containers/{ref}/json")
        return doc

    def container_start(self, ref: str, detach_keys: str = "") -> None:
        """``POST /containers/{ref}/start``; 304 (already running) is success."""
        query = {"detachKeys": detach_keys} if detach_keys else None
        self.request("POST", f"/containers/{ref}/start", query).read()

    def container_wait_begin(self, ref: str, condition: str = "") -> Response:
        """``POST /containers/{ref}/wait``, returned once the headers arrived (the daemon
        flushes them at once): the waiter is registered. Read it with :meth:`wait_result`."""
        query = {"condition": condition} if condition else None
        return self.request("POST", f"/containers/{ref}/wait", query)

    @staticmethod
    def wait_result(resp: Response) -> tuple[int, str]:
        """(StatusCode, Error.Message) from a wait response's body."""
        try:
            doc = loads(resp.read())
        except (OSError, ProtocolError, ValueError) as exc:
            raise Unavailable(f"wait: {exc}") from None
        err = doc.get("Error") or {}
        return int(doc.get("StatusCode", 0)), str(err.get("Message", "") if isinstance(err, dict) else "")

    def container_wait(self, ref: str, condition: str = "") -> tuple[int, str]:
        return self.wait_result(self.container_wait_begin(ref, condition))

    def container_attach(
        self,
        ref: str,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        detach_keys: str = "",
        logs: bool = False,
    ) -> Hijacked:
        """``POST /containers/{ref}/attach?stream=1…`` hijacked (query as the CLI sends it)."""
        query: dict[str, object] = {}
        if detach_keys:
            query["detachKeys"] = detach_keys
        if logs:
            query["logs"] = "1"
        if stderr:
            query["stderr"] = "1"
        if stdin:
            query["stdin"] = "1"
        if stdout:
            query["stdout"] = "1"
        query["stream"] = "1"
        return self.hijack(f"/containers/{ref}/attach", query)

    def container_resize(self, ref: str, height: int, width: int) -> None:
        self.request("POST", f"/containers/{ref}/resize", {"h": height, "w": width}).read()

    def container_kill(self, ref: str, signal: str = "") -> None:
        self.request("POST", f"/containers/{ref}/kill", {"signal": signal} if signal else None).read()

    def container_remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        query = {"force": "1" if force else None, "v": "1" if volumes else None}
        self.request("DELETE", f"/containers/{ref}", query).read()

    def container_logs(self, ref: str, query: Mapping[str, object]) -> Iterator[bytes]:
        """``GET /containers/{ref}/logs``: the raw body (frames or TTY bytes) as it arrives."""
        resp = self.request("GET", f"/containers/{ref}/logs", query)
        yield from resp.iter_body()

    # --- exec ---

    def exec_create(self, ref: str, body: Mapping[str, Any]) -> str:
        doc = self.post_json(f"/containers/{ref}/exec", None, dict(body))
        return str(doc["Id"])

    def exec_start_detached(self, exec_id: str, tty: bool = False) -> None:
        self.request("POST", f"/exec/{exec_id}/start", None, {"Detach": True, "Tty": tty}).read()

    def exec_attach(self, exec_id: str, tty: bool = False) -> Hijacked:
        """``POST /exec/{id}/start`` hijacked."""
        return self.hijack(f"/exec/{exec_id}/start", None, {"Detach": False, "Tty": tty})

    def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        self.request("POST", f"/exec/{exec_id}/resize", {"h": height, "w": width}).read()

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = self.get_json(f"/exec/{exec_id}/json")
        return doc

    # --- networks ---

    def network_create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /networks/create``: ``{"Id": …, "Warning": …}``."""
        doc: dict[str, Any] = self.post_json("/networks/create", None, dict(body))
        return doc

    def network_list(self, filters: str = "") -> list[dict[str, Any]]:
        """``GET /networks``; ``filters`` as :func:`berth.api.filters.encode` writes them."""
        doc: list[dict[str, Any]] = self.get_json("/networks", {"filters": filters} if filters else None)
        return doc

    def network_inspect(self, ref: str, verbose: bool = False, scope: str = "") -> dict[str, Any]:
        query = {"verbose": "true" if verbose else None, "scope": scope or None}
        doc: dict[str, Any] = self.get_json(f"/networks/{ref}", query)
        return doc

    def network_remove(self, ref: str) -> None:
        self.request("DELETE", f"/networks/{ref}").read()

    def network_prune(self, filters: str = "") -> list[str]:
        """The names of the networks removed."""
        doc = self.post_json("/networks/prune", {"filters": filters} if filters else None)
        return list((doc or {}).get("NetworksDeleted") or [])

    def network_connect(self, ref: str, container: str, endpoint_config: Mapping[str, Any] | None = None) -> None:
        body = {"Container": container, "EndpointConfig": dict(endpoint_config or {})}
        self.request("POST", f"/networks/{ref}/connect", None, body).read()

    def network_disconnect(self, ref: str, container: str, force: bool = False) -> None:
        body = {"Container": container, "Force": force}
        self.request("POST", f"/networks/{ref}/disconnect", None, body).read()
