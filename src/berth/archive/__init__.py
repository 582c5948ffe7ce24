"""Layer tars: apply one onto a directory, make one from an overlay upper directory.

Vocabulary:

- **layer** — a tar of filesystem changes, possibly compressed (:mod:`.compression`);
  deletions are *whiteouts* (:mod:`.whiteout`).
- **apply** — extract a layer into the directory that becomes its overlay lowerdir,
  whiteouts in overlayfs form, every path kept inside (:mod:`.apply`).
- **diff** — the reverse: a deterministic layer tar from an overlay upper directory
  (:mod:`.diff`).
- **diff_id** — sha256 of the *uncompressed* tar; **chain_id** — the id of a stack of
  layers (defined in :mod:`berth.oci.image`, re-exported here), what snapshots are keyed by.

Typical use (the unpacker, one layer at a time, base first)::

    with store.reader(layer.digest) as blob:
        result = apply_layer(snapshot_dir, blob, parents=lower_dirs,
                             expected_diff_id=config.rootfs.diff_ids[i])
"""

from berth.archive.apply import ApplyResult, DiffIDMismatch, apply_layer
from berth.archive.compression import compressor, decompress, detect
from berth.archive.diff import diff, diff_id, write_diff
from berth.oci.image import chain_id, chain_ids

__all__ = [
    "ApplyResult",
    "DiffIDMismatch",
    "apply_layer",
    "chain_id",
    "chain_ids",
    "compressor",
    "decompress",
    "detect",
    "diff",
    "diff_id",
    "write_diff",
]
