"""The content store: blobs addressed by digest, written through verified ingests.

Vocabulary:

- **blob** — immutable bytes named by their **digest** (``sha256:<hex>``): a manifest, an
  index, an image config, a compressed layer. Stored at ``blobs/sha256/<hex>``.
- **ingest** — a write in progress, named by a **ref** the caller picks (``layer-<digest>``)
  so that an interrupted download is found again and resumed from its **offset**.
- **commit** — the moment an ingest becomes a blob: size and digest checked, fsync,
  read-only, linked into place. Before that nobody can read it.
- **descriptor** — (berth.oci.image) what tells the store which digest and size to
  expect.

Interfaces (:mod:`berth.content._types`): :class:`Provider` (read), :class:`Ingester`
(write), :class:`IngestManager` (ingest status/abort), :class:`Manager` (info, walk,
delete), composed into :class:`Store`; :class:`LocalStore` implements it on disk.

Typical use (the puller)::

    try:
        w = store.writer(f"layer-{desc.digest}", total=desc.size, expected=desc.digest)
    except AlreadyExists:
        return                       # have it
    with w:
        response = get(url, headers={"Range": f"bytes={w.offset}-"} if w.offset else {})
        for chunk in response:
            w.write(chunk)
        w.commit()                   # DigestMismatch / SizeMismatch: nothing kept
"""

from berth.content._types import (
    BlobReader,
    DigestMismatch,
    Info,
    Ingester,
    IngestManager,
    Manager,
    NoSpace,
    Provider,
    SizeMismatch,
    Status,
    Store,
    Writer,
)
from berth.content.helpers import write_blob
from berth.content.local import LocalStore

__all__ = [
    "BlobReader",
    "DigestMismatch",
    "Info",
    "IngestManager",
    "Ingester",
    "LocalStore",
    "Manager",
    "NoSpace",
    "Provider",
    "SizeMismatch",
    "Status",
    "Store",
    "Writer",
    "write_blob",
]
