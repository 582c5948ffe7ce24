"""Push: blobs first (in parallel), then manifests, the tagged one last.

For each blob: ``HEAD`` (the registry has it: skip), else a cross-repository **mount**
from a repository that has it (``POST uploads/?mount=<digest>&from=<repo>`` → 201; a 202
starts an ordinary upload instead), else ``POST uploads/`` → ``Location``, then either
one ``PUT <location>?digest=`` with the whole body (**monolithic**) or ``PATCH``es with
``Content-Range: <start>-<end>`` and an empty final ``PUT`` (**chunked**, for blobs
larger than the client's ``chunk_size``). The registry checks the digest on the final
PUT. Manifests go up with their own media type as Content-Type; an index's children
first, by digest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from berth import errdefs
from berth.oci.image import Descriptor, Index, parse_manifest_or_index
from berth.oci.reference import Reference
from berth.registry._common import Progress, ProgressFn, with_query
from berth.registry.errors import VerificationFailed
from berth.registry.hosts import Endpoint
from berth.registry.store import BlobProvider

if TYPE_CHECKING:
    from berth.registry.client import Client

__all__ = ["push_blob", "push_tree"]

_CHUNK = 1 << 20


def push_tree(
    c: Client,
    ep: Endpoint,
    ref: Reference,
    provider: BlobProvider,
    desc: Descriptor,
    sources: tuple[str, ...],
    extra: tuple[str, ...],
    progress: ProgressFn | None,
    top: bool,
) -> None:
    data = provider.read_blob(desc.digest)
    obj = parse_manifest_or_index(data, desc.media_type)
    if isinstance(obj, Index):
        for child in obj.manifests:
            push_tree(c, ep, ref, provider, child, sources, extra, progress, top=False)
    else:
        blobs = [obj.config, *obj.layers]
        c._parallel(
            [partial(push_blob, c, ep, ref, provider, d, sources, extra, progress) for d in blobs]
        )
    target = ref.tag if top and ref.tag else desc.digest
    resp = c._request(
        ep,
        ref,
        "PUT",
        f"/v2/{ref.path}/manifests/{target}",
        push=True,
        extra_scopes=extra,
        headers={"Content-Type": desc.media_type},
        body=data,
    )
    with resp:
        if resp.status not in (200, 201, 202):
            raise resp.error()
        got = resp.header("Docker-Content-Digest")
        if got and got != desc.digest:
            raise VerificationFailed(f"manifest {desc.digest}: the registry stored it as {got}")


def push_blob(
    c: Client,
    ep: Endpoint,
    ref: Reference,
    provider: BlobProvider,
    desc: Descriptor,
    sources: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
    progress: ProgressFn | None = None,
) -> str:
    """Upload one blob unless the registry has it; returns ``exists``, ``mounted`` or
    ``pushed``."""
    base = f"/v2/{ref.path}/blobs/"
    kw: dict[str, object] = {"push": True, "extra_scopes": extra}
    with c._request(ep, ref, "HEAD", base + desc.digest, **kw) as resp:  # type: ignore[arg-type]
        if resp.status == 200:
            if progress:
                progress(Progress(desc.digest, "exists", desc.size, desc.size))
            return "exists"
        if resp.status != 404:
            raise resp.error()
    location = ""
    for src in sources:
        q = urlencode({"mount": desc.digest, "from": src})
        with c._request(ep, ref, "POST", f"{base}uploads/?{q}", **kw) as resp:  # type: ignore[arg-type]
            if resp.status == 201:
                if progress:
                    progress(Progress(desc.digest, "mounted", desc.size, desc.size))
                return "mounted"
            if resp.status != 202:
                raise resp.error()
            location = resp.header("Location")
            break
    if not location:
        with c._request(ep, ref, "POST", f"{base}uploads/", **kw) as resp:  # type: ignore[arg-type]
            if resp.status != 202:
                raise resp.error()
            location = resp.header("Location")
    if not location:
        raise errdefs.Unavailable(f"upload of {desc.digest}: no Location from the registry")
    if c.chunk_size and desc.size > c.chunk_size:
        location = _upload_chunks(c, ep, ref, provider, desc, location, extra, progress)
        body: bytes | Callable[[], Iterator[bytes]] = b""
        headers = {"Content-Length": "0"}
    else:
        body = lambda: _stream(provider, desc, progress)  # noqa: E731
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(desc.size)}
    put = with_query(location, {"digest": desc.digest})
    with c._request(
        ep, ref, "PUT", put, push=True, extra_scopes=extra, headers=headers, body=body
    ) as resp:
        if resp.status not in (201, 204):
            raise resp.error(prefix=f"upload of {desc.digest}")
    if progress:
        progress(Progress(desc.digest, "pushed", desc.size, desc.size))
    return "pushed"


def _stream(
    provider: BlobProvider,
    desc: Descriptor,
    progress: ProgressFn | None,
    start: int = 0,
    end: int | None = None,
) -> Iterator[bytes]:
    src = provider.reader(desc.digest)
    try:
        if start:
            src.seek(start)
        pos, stop = start, desc.size if end is None else end
        while pos < stop:
            chunk = src.read(min(_CHUNK, stop - pos))
            if not chunk:
                raise errdefs.Internal(f"blob {desc.digest}: short read at {pos}")
            pos += len(chunk)
            yield chunk
            if progress:
                progress(Progress(desc.digest, "uploading", pos, desc.size))
    finally:
        src.close()


def _upload_chunks(
    c: Client,
    ep: Endpoint,
    ref: Reference,
    provider: BlobProvider,
    desc: Descriptor,
    location: str,
    extra: tuple[str, ...],
    progress: ProgressFn | None,
) -> str:
    assert c.chunk_size
    pos = 0
    while pos < desc.size:
        end = min(pos + c.chunk_size, desc.size)
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{pos}-{end - 1}",
            "Content-Length": str(end - pos),
        }
        body = partial(_stream, provider, desc, progress, pos, end)
        with c._request(
            ep,
            ref,
            "PATCH",
            location,
            push=True,
            extra_scopes=extra,
            headers=headers,
            body=body,
        ) as resp:
            if resp.status != 202:
                raise resp.error(prefix=f"upload of {desc.digest}")
            location = resp.header("Location") or location
        pos = end
    return location
