"""Named volumes on the ``local`` driver (ARCHITECTURE.md L4): records, directories,
option mounts, copy-up and reference counts. Vocabulary in :mod:`berth.volumes._types`."""

from __future__ import annotations

from berth.volumes._types import ANONYMOUS_LABEL, NoUsers, Volume, VolumeUsers
from berth.volumes.copyup import copy_tree
from berth.volumes.local import LocalDriver, validate_options
from berth.volumes.service import VolumeService, dir_size, rfc3339, validate_name

__all__ = [
    "ANONYMOUS_LABEL",
    "LocalDriver",
    "NoUsers",
    "Volume",
    "VolumeService",
    "VolumeUsers",
    "copy_tree",
    "dir_size",
    "rfc3339",
    "validate_name",
    "validate_options",
]
