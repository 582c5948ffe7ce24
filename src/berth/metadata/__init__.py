"""berth's metadata: one SQLite database, ``<root>/berth.db``, in WAL mode.

What lives here is what must be found again after a restart and changed atomically:
snapshot records (which directory is which layer, who is whose parent), image refs
(name → descriptor), and labels on content (how garbage collection finds roots). Bytes
live elsewhere (the content store, the snapshot directories); rows only point at them.

Schema (version 4)::

    schema_version ── version               one row: the migrations applied
    snapshots ─────── id  PK AUTOINCREMENT  names snapshots/<id>/ on disk, never reused
                      key UNIQUE            key (active, view) or name (committed): one
                                            namespace, as containerd's
                      parent_id → snapshots.id  ON DELETE RESTRICT
                      kind                  'active' | 'view' | 'committed'
                      created, updated      unix seconds
                      labels                JSON object
    images ────────── name PK               docker.io/library/busybox:latest, name@sha256:…
                      media_type, digest, size   the target descriptor (index or manifest)
                      labels, created, updated
                      (index on digest: "which names point at this image")
    content ───────── digest PK             a blob in the content store
                      labels                JSON: berth.gc.root, berth.gc.ref.* …
                      created, updated
    containers ────── id PK                 64 hex
                      name UNIQUE           without the leading '/'
                      image_id              sha256:… (index: "who uses this image")
                      created, updated      unix seconds
                      doc                   JSON: the engine's whole record of it
    volumes ───────── name PK               a named or anonymous (64 hex) volume
                      driver, labels, options (JSON), created, anonymous (0/1)
    networks ──────── id PK                 64 hex
                      name UNIQUE           bridge, host, none, user-defined names
                      driver                'bridge' | 'host' | 'null' …
                      doc                   JSON: the engine's record (Docker's
                                            NetworkResource; IPAM.Config names subnets)
                      created               unix seconds
    ip_allocations ── network_id → networks.id  ON DELETE CASCADE
                      address               one IP taken on that network
                      owner                 endpoint/container id, or 'gateway'
                      PK (network_id, address); index on owner

**Migrations** (:data:`MIGRATIONS`) are SQL scripts in order; ``MIGRATIONS[i]`` takes
version ``i`` to ``i + 1``. Opening a file runs the missing ones and sets the version in
one transaction (a crash leaves the old version whole); a file whose version is newer
than this berth's list is refused with FailedPrecondition rather than misread.

**Errors.** ``sqlite3.Error`` never leaves the package: a UNIQUE violation is
AlreadyExists, a foreign key violation FailedPrecondition, a locked database
Unavailable, anything else Internal, each naming the object.

Typical use::

    db = Database("/var/lib/berth/berth.db")
    with db.images() as tx:
        tx.put_image("docker.io/library/busybox:latest", index_descriptor)
    snapshotter = OverlaySnapshotter(root, db)   # db.snapshots() is its MetaStore
"""

from berth.metadata._migrations import MIGRATIONS
from berth.metadata.containers import ContainerRow, ContainersTx, VolumeRow
from berth.metadata.db import Database
from berth.metadata.images import ContentRecord, ImageRecord, ImagesTx
from berth.metadata.networks import AllocationRow, NetworkRow, NetworksTx
from berth.metadata.snapshots import SnapshotRecord, SnapshotTx

__all__ = [
    "MIGRATIONS",
    "AllocationRow",
    "ContainerRow",
    "ContainersTx",
    "ContentRecord",
    "Database",
    "ImageRecord",
    "ImagesTx",
    "NetworkRow",
    "NetworksTx",
    "SnapshotRecord",
    "SnapshotTx",
    "VolumeRow",
]
