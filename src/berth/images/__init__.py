"""images: the local image store — pull (registry → content), unpack (content →
snapshots), names (tags), inspect, remove and garbage collection (ARCHITECTURE.md L4).

Vocabulary (with :mod:`berth.oci.reference`, :mod:`berth.oci.image`, :mod:`berth.snapshots`):

- **name** — a row of the metadata ``images`` table: a normalised reference
  (``docker.io/library/busybox:latest``, or ``repo@sha256:…`` for a pull by digest)
  pointing at a **target** descriptor, an index or a manifest. A name starting with
  ``sha256:`` is no tag: it keeps a **dangling** image (one whose tag moved to a newer
  image, as ``docker pull`` leaves it) until it is removed or pruned.
- **image id** — the digest of the image config (Docker's ``Id``); several names may
  share one. **RepoTags** are the names with a tag, **RepoDigests** ``repo@<target
  digest>`` for every repository with a name pointing at the image.
- **unpacked** — every layer applied into a committed snapshot named by its **chain id**,
  so a layer shared by two images is extracted once; the committed snapshot carries the
  label ``berth.layer.size`` (bytes of its uncompressed tar), summed for ``Size``.
- **garbage** — blobs and committed snapshots no name reaches. :meth:`ImageService.gc`
  walks from every name (index → manifests → config, layers; the selected manifest's
  chain ids) and deletes the rest, leaving what an operation in flight may still record
  (anything created after the oldest pull in progress began). Active snapshots
  (containers) keep their parents: the snapshotter refuses to remove a parent.

The container service answers "which containers use this image" through the
:class:`ContainerUsage` protocol (:meth:`ImageService.set_usage`); until then nothing is
in use.

Typical use (the daemon's wiring)::

    svc = ImageService(store, snapshotter, db, registry_client)
    svc.pull("busybox", progress=print)        # PullEvent values, Docker's sequence
    svc.tag("busybox", "example.com/bb", "1")
    svc.remove("example.com/bb:1")             # [DeleteItem(untagged=…)]
"""

from berth.images._load import unix_seconds
from berth.images._types import (
    ContainerUsage,
    DeleteItem,
    ImageDetail,
    ImageSummary,
    PullEvent,
    PullFn,
    PushResult,
    RegistryClient,
)
from berth.images.service import ImageService

__all__ = [
    "ContainerUsage",
    "DeleteItem",
    "ImageDetail",
    "ImageService",
    "ImageSummary",
    "PullEvent",
    "PullFn",
    "PushResult",
    "RegistryClient",
    "unix_seconds",
]
