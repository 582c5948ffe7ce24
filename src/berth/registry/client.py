"""The registry client: resolve, pull into a content store, push from one, login.

Distribution spec endpoints used (https://github.com/opencontainers/distribution-spec
spec.md), all under ``/v2/<name>/`` where ``<name>`` is the reference's path:

=========================================  =============================================
``GET  manifests/<tag|digest>``            resolve (Accept: indexes first, then manifests)
``GET  blobs/<digest>`` (+ ``Range``)      fetch, resumed from the ingest's offset
``HEAD blobs/<digest>``                    push: skip what the registry has
``POST blobs/uploads/?mount=&from=``       push: cross-repository mount (201), else 202
``POST blobs/uploads/`` → ``Location``     push: start an upload session
``PATCH <location>`` + ``Content-Range``   push: one chunk of a chunked upload
``PUT  <location>?digest=``                push: finish (monolithic: the whole body)
``PUT  manifests/<tag|digest>``            push: last, with the manifest's media type
``GET  /v2/``                              login: check the credentials
=========================================  =============================================

Checks: a manifest's bytes must hash to the digest asked for or, when fetched by tag, to
``Docker-Content-Digest``; a blob is hashed while it streams into the store and the
commit refuses it when it does not match (nothing partial is kept:
:class:`~berth.registry.errors.VerificationFailed`). A transfer cut in the middle is
resumed with ``Range: bytes=<offset>-`` (a few times) from what the ingest already holds.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from berth import errdefs
from berth.errdefs import AlreadyExists, BerthError
from berth.oci import mediatypes as mt
from berth.oci.digest import Digest, sha256_of
from berth.oci.image import (
    Descriptor,
    Index,
    Manifest,
    parse_manifest_or_index,
    select_manifest,
)
from berth.oci.platform import Platform, default_platform
from berth.oci.reference import Reference, parse_docker_ref
from berth.registry._common import Progress, ProgressFn
from berth.registry._common import media_type_of as _media_type
from berth.registry.auth import Credentials, repository_scope
from berth.registry.credentials import CredentialStore, registry_key
from berth.registry.errors import VerificationFailed
from berth.registry.hosts import Endpoint, RegistryHosts
from berth.registry.push import push_tree
from berth.registry.store import BlobIngester, BlobProvider, BlobWriter
from berth.registry.transport import Response, Transport

__all__ = ["Client", "Progress", "PullResult", "Resolved"]

_T = TypeVar("_T")
# Credentials for the operation in progress (X-Registry-Auth), else the stored ones.
_CREDS: ContextVar[Credentials | None] = ContextVar("berth_registry_credentials", default=None)

MAX_MANIFEST_SIZE = 4 << 20
_CHUNK = 1 << 20
_RETRIES = 3


@dataclass(frozen=True)
class Resolved:
    """What a reference points at: ``descriptor`` (a manifest or an index) and its bytes."""

    ref: Reference
    descriptor: Descriptor
    data: bytes


@dataclass(frozen=True)
class PullResult:
    """``descriptor``: what the reference resolved to (index or manifest); ``manifest``:
    the one for the platform; ``config``, ``layers``: from it. All are in the store."""

    ref: Reference
    descriptor: Descriptor
    manifest: Descriptor
    config: Descriptor
    layers: tuple[Descriptor, ...]


def _ref(ref: Reference | str) -> Reference:
    return parse_docker_ref(ref) if isinstance(ref, str) else ref


class Client:
    """A registry client; thread-safe, one per daemon. ``max_workers`` blobs move at
    once; ``chunk_size`` switches uploads of larger blobs to chunked PATCHes."""

    def __init__(
        self,
        transport: Transport | None = None,
        *,
        hosts: RegistryHosts | None = None,
        credentials: CredentialStore | None = None,
        max_workers: int = 4,
        chunk_size: int | None = None,
    ) -> None:
        self.transport = transport or Transport(hosts, credentials)
        self.max_workers = max_workers
        self.chunk_size = chunk_size
        self.wait_timeout = 600.0  # for a blob another pull is fetching

    def close(self) -> None:
        self.transport.close()

    # -- helpers -------------------------------------------------------------------------

    def _request(
        self,
        ep: Endpoint,
        ref: Reference,
        method: str,
        target: str,
        *,
        push: bool = False,
        extra_scopes: tuple[str, ...] = (),
        **kw: object,
    ) -> Response:
        scopes = (repository_scope(ref.path, "pull,push" if push else "pull"), *extra_scopes)
        return self.transport.request(
            ep,
            method,
            target,
            scopes=scopes,
            registry=ref.domain,
            creds=_CREDS.get(),
            **kw,  # type: ignore[arg-type]
        )

    @contextmanager
    def _as(self, creds: Credentials | None) -> Iterator[None]:
        """Use ``creds`` for the requests of this thread and the pool it starts."""
        token = _CREDS.set(creds)
        try:
            yield
        finally:
            _CREDS.reset(token)

    def _endpoints(self, ref: Reference, push: bool = False) -> list[Endpoint]:
        return self.transport.hosts.endpoints(ref.domain, push=push)

    # -- resolve -------------------------------------------------------------------------

    def resolve(self, ref: Reference | str, *, credentials: Credentials | None = None) -> Resolved:
        """The descriptor and bytes ``ref`` points at (mirrors first for docker.io)."""
        r = _ref(ref)
        with self._as(credentials):
            return self._on_endpoints(r, lambda ep: self._resolve(ep, r))

    def head(self, ref: Reference | str, *, credentials: Credentials | None = None) -> Descriptor:
        """The descriptor ``ref`` points at, from a ``HEAD`` (no body moves: enough to
        tell whether a local image is up to date); falls back to a GET when the registry
        does not say the digest."""
        r = _ref(ref)
        with self._as(credentials):
            return self._on_endpoints(r, lambda ep: self._head(ep, r))

    def _head(self, ep: Endpoint, ref: Reference) -> Descriptor:
        what = ref.digest or ref.tag or "latest"
        headers = {"Accept": ", ".join(mt.ACCEPT_MANIFESTS)}
        with self._request(
            ep, ref, "HEAD", f"/v2/{ref.path}/manifests/{what}", headers=headers
        ) as resp:
            if resp.status == 404:
                # a HEAD has no error body: say what the GET would have said
                raise errdefs.NotFound(
                    f"manifest for {ref.familiar_string()} not found: "
                    "manifest unknown: manifest unknown"
                )
            if resp.status != 200:
                raise resp.error()
            header = resp.header("Docker-Content-Digest")
            length = resp.header("Content-Length")
            media_type = _media_type(resp)
        if header.startswith("sha256:") and length.isdigit() and media_type:
            if ref.digest is not None and header != ref.digest:
                raise VerificationFailed(f"manifest verification failed for digest {ref.digest}")
            return Descriptor(media_type, Digest(header), int(length))
        return self._resolve(ep, ref).descriptor

    def _on_endpoints(self, ref: Reference, fn: Callable[[Endpoint], _T]) -> _T:
        last: BerthError | None = None
        for ep in self._endpoints(ref):
            try:
                return fn(ep)
            except BerthError as exc:
                if not ep.mirror:
                    raise
                last = exc
        assert last is not None
        raise last

    def _resolve(self, ep: Endpoint, ref: Reference) -> Resolved:
        what = ref.digest or ref.tag or "latest"
        data, media_type, header = self._get_manifest(ep, ref, what)
        dgst = sha256_of(data)
        if ref.digest is not None and dgst != ref.digest:
            raise VerificationFailed(f"manifest verification failed for digest {ref.digest}")
        if header and header.startswith("sha256:") and header != dgst:
            raise VerificationFailed(f"manifest verification failed for digest {header}")
        obj = parse_manifest_or_index(data, media_type)
        return Resolved(ref, Descriptor(obj.media_type, dgst, len(data)), data)

    def _get_manifest(
        self, ep: Endpoint, ref: Reference, what: str
    ) -> tuple[bytes, str | None, str]:
        resp = self._request(
            ep,
            ref,
            "GET",
            f"/v2/{ref.path}/manifests/{what}",
            headers={"Accept": ", ".join(mt.ACCEPT_MANIFESTS)},
        )
        with resp:
            if resp.status == 404:
                raise resp.error(prefix=f"manifest for {ref.familiar_string()} not found")
            if resp.status != 200:
                raise resp.error()
            length = resp.header("Content-Length")
            if length.isdigit() and int(length) > MAX_MANIFEST_SIZE:
                raise errdefs.InvalidArgument(
                    f"manifest for {ref.familiar_string()}: {length} bytes is too large"
                )
            data = resp.read()
            if len(data) > MAX_MANIFEST_SIZE:
                raise errdefs.InvalidArgument(f"manifest for {ref.familiar_string()}: too large")
            return data, _media_type(resp), resp.header("Docker-Content-Digest")

    # -- pull ----------------------------------------------------------------------------

    def pull(
        self,
        ref: Reference | str,
        ingester: BlobIngester,
        *,
        platform: Platform | None = None,
        progress: ProgressFn | None = None,
        credentials: Credentials | None = None,
    ) -> PullResult:
        """Fetch everything ``ref`` needs on ``platform`` (the host's by default) into
        the store: the index if any, the manifest, the config and the layers (in
        parallel, resumed, verified). ``credentials`` replace the stored ones for this
        call (what a client sent in X-Registry-Auth)."""
        r = _ref(ref)
        with self._as(credentials):
            return self._on_endpoints(r, lambda ep: self._pull(ep, r, ingester, platform, progress))

    def _pull(
        self,
        ep: Endpoint,
        ref: Reference,
        ingester: BlobIngester,
        platform: Platform | None,
        progress: ProgressFn | None,
    ) -> PullResult:
        top = self._resolve(ep, ref)
        _store_bytes(ingester, top.descriptor, top.data)
        desc, data = top.descriptor, top.data
        for _ in range(2):  # an index may point at an index once
            obj = parse_manifest_or_index(data, desc.media_type)
            if isinstance(obj, Manifest):
                break
            assert isinstance(obj, Index)
            child = select_manifest(obj, platform or default_platform())
            data, media_type, _ = self._get_manifest(ep, ref, child.digest)
            if sha256_of(data) != child.digest or len(data) != child.size:
                raise VerificationFailed(f"manifest verification failed for digest {child.digest}")
            desc = Descriptor(media_type or child.media_type, child.digest, child.size)
            _store_bytes(ingester, desc, data)
        else:
            raise errdefs.InvalidArgument(f"{ref.familiar_string()}: index nested too deeply")
        blobs = [obj.config, *obj.layers]
        self._parallel([partial(self.fetch_blob, ep, ref, d, ingester, progress) for d in blobs])
        return PullResult(ref, top.descriptor, desc, obj.config, tuple(obj.layers))

    def _parallel(self, jobs: Sequence[Callable[[], object]]) -> None:
        if len(jobs) <= 1 or self.max_workers <= 1:
            for j in jobs:
                j()
            return
        cancel = threading.Event()

        def run(j: Callable[[], object]) -> object:
            if cancel.is_set():
                return None
            return j()

        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(jobs))) as pool:
            futures: list[Future[object]] = [
                pool.submit(contextvars.copy_context().run, run, j) for j in jobs
            ]
            first: BaseException | None = None
            for f in futures:
                exc = f.exception()
                if exc is not None and first is None:
                    first = exc
                    cancel.set()
        if first is not None:
            raise first

    def fetch_blob(
        self,
        ep: Endpoint,
        ref: Reference,
        desc: Descriptor,
        ingester: BlobIngester,
        progress: ProgressFn | None = None,
    ) -> bool:
        """Stream one blob into the store; False when it was there already (or another
        pull fetched it meanwhile: a ref held by another writer is waited for)."""
        w = _open_writer(ingester, f"layer-{desc.digest}", desc, self.wait_timeout)
        if w is None:
            if progress:
                progress(Progress(desc.digest, "exists", desc.size, desc.size))
            return False
        try:
            if progress:
                progress(Progress(desc.digest, "waiting", w.offset, desc.size))
            failures = 0
            while not desc.size or w.offset < desc.size:
                try:
                    self._download(ep, ref, desc, w, progress)
                    break
                except _StoreFailed as exc:
                    raise exc.error from exc.error.__cause__
                except errdefs.Unavailable:
                    failures += 1
                    if failures > _RETRIES:
                        raise
            try:
                w.commit(desc.size, desc.digest)
            except AlreadyExists:
                return False
            except errdefs.InvalidArgument as exc:
                raise VerificationFailed(
                    f"filesystem layer verification failed for digest {desc.digest}"
                ) from exc
        finally:
            w.close()
        if progress:
            progress(Progress(desc.digest, "complete", desc.size, desc.size))
        return True

    def _download(
        self,
        ep: Endpoint,
        ref: Reference,
        desc: Descriptor,
        w: BlobWriter,
        progress: ProgressFn | None,
    ) -> None:
        headers = {"Range": f"bytes={w.offset}-"} if w.offset else {}
        target = f"/v2/{ref.path}/blobs/{desc.digest}"
        resp = self._request(ep, ref, "GET", target, headers=headers)
        for _ in range(5):
            if resp.status not in (301, 302, 303, 307, 308):
                break
            location = resp.header("Location")
            resp.close()
            # a storage backend's signed URL: no registry credentials there
            resp = self.transport.request(ep, "GET", location, headers=headers, authorize=False)
        with resp:
            if resp.status == 206:
                start = resp.header("Content-Range").removeprefix("bytes ").split("-", 1)[0]
                if not start.isdigit() or int(start) != w.offset:
                    w.truncate(0)
                    raise errdefs.Unavailable(f"blob {desc.digest}: unexpected Content-Range")
            elif resp.status == 200:
                if w.offset:
                    w.truncate(0)  # the server ignored the Range: start again
            elif resp.status == 416 and w.offset == desc.size:
                return
            elif resp.status == 404:
                raise resp.error(prefix=f"blob {desc.digest} for {ref.name}")
            else:
                raise resp.error()
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                try:
                    w.write(chunk)
                except errdefs.InvalidArgument as exc:
                    raise VerificationFailed(
                        f"filesystem layer verification failed for digest {desc.digest}"
                    ) from exc
                except BerthError as exc:
                    raise _StoreFailed(exc) from exc  # the disk is full: no retry
                if progress:
                    progress(Progress(desc.digest, "downloading", w.offset, desc.size))

    # -- push ----------------------------------------------------------------------------

    def push(
        self,
        ref: Reference | str,
        provider: BlobProvider,
        descriptor: Descriptor,
        *,
        mount_from: Sequence[str] = (),
        progress: ProgressFn | None = None,
        credentials: Credentials | None = None,
    ) -> Digest:
        """Push the manifest or index ``descriptor`` and everything it references from
        ``provider`` to ``ref`` (its tag, else its digest). ``mount_from``: repository
        paths on the same registry that may hold the blobs already (cross-repository
        mount). Returns the manifest's digest."""
        r = _ref(ref)
        ep = self._endpoints(r, push=True)[0]
        sources = tuple(m for m in mount_from if m and m != r.path)
        extra = tuple(repository_scope(m, "pull") for m in sources)
        with self._as(credentials):
            push_tree(self, ep, r, provider, descriptor, sources, extra, progress, top=True)
        return descriptor.digest

    # -- login ---------------------------------------------------------------------------

    def login(
        self, registry: str, username: str, password: str, *, store: bool = True, keep: bool = True
    ) -> None:
        """Check ``username``/``password`` against ``registry``'s ``/v2/`` (following
        its challenge: Basic, or a token from its realm) and keep them in berth's
        credential file (``store``) and for this client's later requests (``keep``).
        Unauthorized with Docker's wording when refused."""
        key = registry_key(registry)
        creds = Credentials(username, password)
        probe = Transport(self.transport.hosts, self.transport.credentials)
        probe.set_credentials(key, creds)
        ep = self.transport.hosts.endpoints(key, push=True)[0]
        try:
            resp = probe.request(ep, "GET", "/v2/", registry=key)
            with resp:
                if resp.status == 401:
                    url = f"{probe.scheme(ep)}://{ep.host}/v2/"
                    raise errdefs.Unauthorized(
                        f"login attempt to {url} failed with status: 401 Unauthorized"
                    )
                if resp.status != 200:
                    raise resp.error()
                resp.read()
        finally:
            probe.close()
        if not keep:
            return
        self.transport.set_credentials(key, creds)
        self.transport.tokens.clear()
        if store:
            self.transport.credentials.store(key, creds)

    def logout(self, registry: str) -> None:
        """Forget the stored credentials for ``registry``."""
        key = registry_key(registry)
        self.transport.credentials.erase(key)
        self.transport.set_credentials(key, Credentials())
        self.transport.tokens.clear()


class _StoreFailed(Exception):
    """The store refused a write (NoSpace …): not a network failure to retry."""

    def __init__(self, error: BerthError) -> None:
        super().__init__(str(error))
        self.error = error


def _open_writer(
    ingester: BlobIngester, ref: str, desc: Descriptor, timeout: float
) -> BlobWriter | None:
    """The ingest for ``desc``, or None when the store has the blob. A ref held by
    another pull is waited for: it commits (None here) or gives up (we resume from its
    partial)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return ingester.writer(ref, total=desc.size, expected=desc.digest)
        except AlreadyExists:
            return None
        except errdefs.Unavailable as exc:
            # the content store's plain Unavailable means "held by another writer";
            # its subclasses (NoSpace) are real failures
            if type(exc) is not errdefs.Unavailable or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _store_bytes(ingester: BlobIngester, desc: Descriptor, data: bytes) -> None:
    w = _open_writer(ingester, f"manifest-{desc.digest}", desc, 60.0)
    if w is None:
        return
    try:
        if w.offset:
            w.truncate(0)
        w.write(data)
        try:
            w.commit(desc.size, desc.digest)
        except AlreadyExists:
            pass
    finally:
        w.close()
