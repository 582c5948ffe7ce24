"""Snapshots: the filesystems that images' layers and containers' root directories are.

Vocabulary (containerd's, ``core/snapshots``):

- **snapshot** — a directory tree built on a **parent** snapshot (or on nothing), shown
  to the caller as a list of :class:`Mount` values to mount wherever it likes.
- **key** — the caller's name for a snapshot it is still working on. **name** — what a
  snapshot is called once committed; berth's unpacker names a layer's snapshot by its
  **chain id** (:func:`berth.oci.image.chain_id`), so the layer ``sha256:ab…`` on top of
  the same base is one snapshot for every image that has it. Keys and names share one
  namespace.
- **active** — writable, made by :meth:`~OverlaySnapshotter.prepare`; a container's
  root filesystem, or a layer being extracted. **committed** — read-only, made from an
  active snapshot by :meth:`~OverlaySnapshotter.commit`; the only kind that can be a
  parent. **view** — read-only, made by :meth:`~OverlaySnapshotter.view`; for looking
  at an image (``berth export``, build contexts), never committed.
- **mounts** — what the caller mounts (:func:`mount_all`); the snapshotter never mounts
  anything itself, so it needs no namespace of its own and the runtime can take the
  same list into a container's mount namespace.

Unpacking a layer, then running a container (chain ids ``c1``, ``c2`` of a two-layer
image)::

    # the base layer: an active snapshot with no parent, a layer applied into it
    sn.prepare("extract-7f3a-c1")                     # key: unique per attempt
    apply_layer(sn.fs_dir("extract-7f3a-c1"), blob1)  # whiteouts in overlay form
    sn.commit("c1", "extract-7f3a-c1")                # AlreadyExists: someone was faster;
                                                      #   remove the key and use theirs
    # the next layer on top of it
    sn.prepare("extract-7f3b-c2", parent="c1")
    apply_layer(sn.fs_dir("extract-7f3b-c2"), blob2, parents=sn.lower_dirs("extract-7f3b-c2"))
    sn.commit("c2", "extract-7f3b-c2")

    # a container: an active snapshot over the image's top chain id
    mounts = sn.prepare("container-3f2a", parent="c2")   # overlay: lowerdir c2:c1, upper, work
    mount_all(mounts, "/var/lib/berth/containers/3f2a/rootfs")
    ...                                                   # the container runs, writes
    unmount("/var/lib/berth/containers/3f2a/rootfs")
    diff(sn.lower_dirs("container-3f2a"), sn.fs_dir("container-3f2a"))  # docker commit
    sn.remove("container-3f2a")                       # c1, c2 stay for other users
    sn.remove("c2"); sn.remove("c1")                  # when no image needs them: top first,
                                                      #   a parent of others is refused

:class:`OverlaySnapshotter` (:mod:`.overlay`) is the implementation; it keeps its
records in a :class:`MetaStore` (``berth.metadata.Database`` in the daemon, which the
daemon's wiring passes in — the two packages are siblings and do not import each other).
"""

from berth.snapshots._types import Info, Kind, MetaStore, MetaTx, Mount, Record, Usage
from berth.snapshots.mount import mount_all, parse_options, unmount
from berth.snapshots.overlay import OverlaySnapshotter

__all__ = [
    "Info",
    "Kind",
    "MetaStore",
    "MetaTx",
    "Mount",
    "OverlaySnapshotter",
    "Record",
    "Usage",
    "mount_all",
    "parse_options",
    "unmount",
]
