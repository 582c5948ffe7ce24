"""HTTP to registries: connections, TLS fallback for insecure registries, and auth.

The one I/O seam of the package. :class:`Transport` is shared by the threads of a
transfer; it keeps idle connections per (scheme, host), remembers which insecure
registries speak plain HTTP, which auth challenge each registry sent, and the bearer
tokens it obtained (per scope).

A request carries the **scopes** it needs (``repository:a/b:pull``). Without a known
challenge it goes out bare; a ``401`` teaches the challenge, a token (or Basic header) is
obtained and the request is sent once more — so a body must be replayable: ``bytes`` or
a function returning a fresh iterable of chunks.

Foreign exceptions stop here: a refused connection is
:class:`~berth.errdefs.Unavailable` worded as Docker words it (``Get "http://127.0.0.1:
5055/v2/": dial tcp 127.0.0.1:5055: connect: connection refused``).
"""

from __future__ import annotations

import errno as _errno
import hashlib
import http.client
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlencode, urlsplit

from berth import errdefs
from berth.errdefs import BerthError
from berth.registry.auth import Challenge, Credentials, TokenCache, basic_header, parse_challenges
from berth.registry.credentials import CredentialStore
from berth.registry.errors import error_from_response
from berth.registry.hosts import Endpoint, RegistryHosts

__all__ = ["Body", "Response", "Transport"]

Body = bytes | Callable[[], Iterable[bytes]] | None

USER_AGENT = "berth/0.1 (linux)"
_TIMEOUT = 60.0
_Conn = http.client.HTTPConnection


class Response:
    """A response whose body is read by the caller; :meth:`close` (or reading it to the
    end) gives the connection back for reuse."""

    def __init__(
        self,
        transport: Transport,
        key: tuple[str, str],
        conn: _Conn,
        resp: http.client.HTTPResponse,
        method: str,
        url: str,
    ) -> None:
        self._transport = transport
        self._key = key
        self._conn: _Conn | None = conn
        self._resp = resp
        self.method = method
        self.url = url
        self.status = resp.status
        self.reason = resp.reason
        self.headers = resp.headers

    def header(self, name: str) -> str:
        return self.headers.get(name) or ""

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all when -1); a cut connection is Unavailable."""
        try:
            data = self._resp.read() if n < 0 else self._resp.read1(n)
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise errdefs.Unavailable(
                f"{self.method} {_q(self.url)}: read: {_reason(exc)}"
            ) from exc
        if n != 0 and not data and self._resp.length not in (None, 0):
            self._drop()
            raise errdefs.Unavailable(f"{self.method} {_q(self.url)}: read: unexpected EOF")
        return data

    def error(self, prefix: str = "") -> BerthError:
        """The registry's error for this (failed) response."""
        try:
            body = self._resp.read(1 << 16)
        except (OSError, http.client.HTTPException):
            body = b""
        self.close()
        return error_from_response(
            self.status, self.reason, body, f"{self.method} {_q(self.url)}", prefix=prefix
        )

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._resp.isclosed() and not self._resp.will_close:
            self._transport._put(self._key, conn)
        else:
            self._resp.close()
            conn.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._resp.close()
            conn.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _q(url: str) -> str:
    return f'"{url}"'


def _reason(exc: BaseException) -> str:
    if isinstance(exc, http.client.IncompleteRead):
        return "unexpected EOF"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "EOF"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "i/o timeout"
    if isinstance(exc, ssl.SSLError):
        return f"tls: {exc.reason or exc}".lower()
    if isinstance(exc, OSError) and exc.errno:
        return errdefs.strerror(exc.errno)
    return str(exc) or type(exc).__name__


class Transport:
    def __init__(
        self,
        hosts: RegistryHosts | None = None,
        credentials: CredentialStore | None = None,
        *,
        user_agent: str = USER_AGENT,
        timeout: float = _TIMEOUT,
    ) -> None:
        self.hosts = hosts or RegistryHosts()
        self.credentials = credentials or CredentialStore()
        self.user_agent = user_agent
        self.timeout = timeout
        self.tokens = TokenCache()
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str], list[_Conn]] = {}
        self._plain: set[str] = set()  # insecure registries found to speak plain HTTP
        self._challenges: dict[str, Challenge] = {}
        self._creds: dict[str, Credentials] = {}

    # -- credentials ---------------------------------------------------------------------

    def set_credentials(self, registry: str, creds: Credentials) -> None:
        """Use ``creds`` for ``registry`` instead of the credential files (the daemon
        passes what the client sent in X-Registry-Auth)."""
        with self._lock:
            self._creds[registry] = creds

    def credentials_for(self, registry: str) -> Credentials:
        with self._lock:
            c = self._creds.get(registry)
        if c is not None:
            return c
        return self.credentials.get("docker.io" if registry.endswith("docker.io") else registry)

    # -- requests ------------------------------------------------------------------------

    def base_url(self, ep: Endpoint) -> str:
        return f"{self.scheme(ep)}://{ep.host}"

    def scheme(self, ep: Endpoint) -> str:
        with self._lock:
            return "http" if not ep.secure and ep.host in self._plain else "https"

    def request(
        self,
        ep: Endpoint,
        method: str,
        target: str,
        *,
        scopes: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        registry: str | None = None,
        authorize: bool = True,
        creds: Credentials | None = None,
    ) -> Response:
        """Send ``method target`` (a path on ``ep`` or an absolute URL the registry gave,
        e.g. an upload Location), authenticating as needed with ``creds`` (else those
        known for ``registry``). Any status comes back; the caller checks it
        (``resp.error()``)."""
        registry = registry or ep.host
        if creds is None:
            creds = self.credentials_for(registry)
        hdrs = dict(headers or {})
        auth = self._authorization(ep, creds, scopes) if authorize else None
        if auth:
            hdrs["Authorization"] = auth
        resp = self._send(ep, method, target, hdrs, body)
        if resp.status != 401 or not authorize:
            return resp
        challenges = parse_challenges(", ".join(resp.headers.get_all("WWW-Authenticate") or []))
        chosen = next((c for c in challenges if c.scheme == "bearer"), None) or next(
            (c for c in challenges if c.scheme == "basic"), None
        )
        if chosen is None:
            return resp
        if chosen.scheme == "basic" and not creds:
            return resp
        with self._lock:
            self._challenges[ep.host] = chosen
        if chosen.scheme == "bearer":
            scope = chosen.params.get("scope")
            if scope and scope not in scopes:
                scopes = (*scopes, scope)
        # A cached token may have been refused (expired, revoked): ask for a new one.
        auth = self._authorization(ep, creds, scopes, fresh=True)
        if not auth:
            return resp
        resp.close()
        hdrs["Authorization"] = auth
        return self._send(ep, method, target, hdrs, body)

    def _authorization(
        self, ep: Endpoint, creds: Credentials, scopes: tuple[str, ...], fresh: bool = False
    ) -> str | None:
        with self._lock:
            ch = self._challenges.get(ep.host)
        if ch is None:
            return None
        if ch.scheme == "basic":
            return basic_header(creds) if creds.username else None
        if ch.scheme == "bearer":
            return "Bearer " + self._token(ch, creds, scopes, fresh)
        return None

    def _token(
        self, ch: Challenge, creds: Credentials, scopes: tuple[str, ...], fresh: bool
    ) -> str:
        realm = ch.realm
        if not realm:
            raise errdefs.Unauthorized("bearer challenge without a realm")
        service = ch.params.get("service", "")
        secret = hashlib.sha256(f"{creds.password}\0{creds.identity_token}".encode()).hexdigest()
        key = (realm, service, creds.username, secret, *sorted(set(scopes)))
        if not fresh:
            cached = self.tokens.get(key)
            if cached is not None:
                return cached
        u = urlsplit(realm)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise errdefs.Unauthorized(f"invalid token realm {realm!r}")
        ep = self.hosts.endpoint(u.netloc)
        if u.scheme == "http":
            ep = Endpoint(u.netloc, secure=False)
            with self._lock:
                self._plain.add(u.netloc)
        hdrs = {"Accept": "application/json"}
        if creds.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "service": service,
                "client_id": "berth",
                "scope": " ".join(sorted(set(scopes))),
            }
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
            resp = self._send(ep, "POST", realm, hdrs, urlencode(form).encode())
        else:
            query = [("service", service)] if service else []
            query += [("scope", s) for s in sorted(set(scopes))]
            url = realm + ("&" if u.query else "?") + urlencode(query) if query else realm
            if creds.username:
                hdrs["Authorization"] = basic_header(creds)
            resp = self._send(ep, "GET", url, hdrs, None)
        with resp:
            if resp.status != 200:
                raise resp.error(prefix=f"{resp.method.capitalize()} {_q(resp.url)}")
            data = resp.read()
        try:
            doc = json.loads(data)
            token = doc.get("token") or doc.get("access_token")
            expires_in = float(doc.get("expires_in") or 0)
        except (ValueError, AttributeError, TypeError):
            token = None
            expires_in = 0
        if not isinstance(token, str) or not token:
            raise errdefs.Unauthorized(f"token server {realm!r}: no token in the answer")
        self.tokens.put(key, token, expires_in)
        return token

    # -- connections ---------------------------------------------------------------------

    def _send(
        self, ep: Endpoint, method: str, target: str, headers: dict[str, str], body: Body
    ) -> Response:
        if target.startswith(("http://", "https://")):
            u = urlsplit(target)
            host, scheme = u.netloc, u.scheme
            path = u.path + ("?" + u.query if u.query else "")
            if host != ep.host:
                ep = (
                    self.hosts.endpoint(host) if scheme == "https" else Endpoint(host, secure=False)
                )
            if scheme == "http" and not ep.secure:
                with self._lock:
                    self._plain.add(host)
            elif scheme == "http":
                raise errdefs.PermissionDenied(
                    f"{method} {_q(target)}: refusing plain HTTP to a secure registry"
                )
        else:
            path = target
        scheme = self.scheme(ep)
        try:
            return self._roundtrip(ep, scheme, method, path, headers, body)
        except ssl.SSLError as exc:
            if ep.secure or scheme == "http" or isinstance(exc, ssl.SSLCertVerificationError):
                raise self._conn_error(method, f"{scheme}://{ep.host}{path}", ep, exc) from exc
        # An insecure registry that does not speak TLS: plain HTTP from now on.
        with self._lock:
            self._plain.add(ep.host)
        return self._roundtrip(ep, "http", method, path, headers, body)

    def _roundtrip(
        self, ep: Endpoint, scheme: str, method: str, path: str, headers: dict[str, str], body: Body
    ) -> Response:
        url = f"{scheme}://{ep.host}{path}"
        key = (scheme, ep.host)
        hdrs = {"User-Agent": self.user_agent, **headers}
        for attempt in (0, 1):
            conn, reused = self._get(key, ep)
            try:
                payload: bytes | Iterable[bytes] | None = body() if callable(body) else body
                if payload is None and method in ("POST", "PUT", "PATCH"):
                    payload = b""
                conn.request(method, path, body=payload, headers=hdrs)
                resp = conn.getresponse()
            except ssl.SSLError:
                conn.close()
                raise
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if (
                    reused
                    and attempt == 0
                    and isinstance(
                        exc, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError
                    )
                ):
                    continue  # an idle connection the server had closed
                raise self._conn_error(method, url, ep, exc) from exc
            if method == "HEAD":
                resp.read()
            return Response(self, key, conn, resp, method, url)
        raise AssertionError("unreachable")

    def _conn_error(self, method: str, url: str, ep: Endpoint, exc: BaseException) -> BerthError:
        m = method.capitalize()
        if isinstance(exc, ssl.SSLCertVerificationError):
            return errdefs.Unavailable(
                f"{m} {_q(url)}: tls: failed to verify certificate: {exc.verify_message}"
            )
        if (
            isinstance(exc, ConnectionRefusedError)
            or getattr(exc, "errno", None) == _errno.ECONNREFUSED
        ):
            return errdefs.Unavailable(
                f"{m} {_q(url)}: dial tcp {ep.host}: connect: connection refused"
            )
        if isinstance(exc, socket.gaierror):
            return errdefs.Unavailable(
                f"{m} {_q(url)}: dial tcp: lookup {ep.hostname}: no such host"
            )
        return errdefs.Unavailable(f"{m} {_q(url)}: {_reason(exc)}")

    def _get(self, key: tuple[str, str], ep: Endpoint) -> tuple[_Conn, bool]:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), True
        host, port = ep.hostname, ep.port
        if key[0] == "https":
            ctx = ep.tls if ep.tls is not None else self.hosts.tls_context(ep.host, ep.secure)
            return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=ctx), False
        return http.client.HTTPConnection(host, port, timeout=self.timeout), False

    def _put(self, key: tuple[str, str], conn: _Conn) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < 8:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for c in conns:
            c.close()
