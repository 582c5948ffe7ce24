"""cgroups: resource limits for containers, as data applied to a root path.

Vocabulary:

- **hierarchy**: one mounted cgroup filesystem. v1 has one per controller (or group of
  co-mounted controllers) plus named ones (``name=systemd``); v2 has one, *unified*.
- **setup**: which hierarchies a host has and where (:func:`detect` → :class:`Setup`):
  ``v1``, ``v2`` or ``hybrid`` (v1 controllers plus a cgroup2 mount below the root).
- **cgroup path**: a container's place in every hierarchy, absolute from the hierarchy
  root (``/berth/abc``), from OCI ``linux.cgroupsPath`` by :func:`resolve_path`.
- **resources**: OCI ``linux.resources`` as parsed JSON; checked by :func:`validate`,
  written by controller modules ``v1/<controller>.py`` and ``v2/<controller>.py``, each
  a small ``apply(resources, path)`` (and ``stats(path)``) over a directory that tests
  point at a temp tree.
- **manager**: one container's group on one setup (:class:`Manager`): create, add,
  apply, freeze/thaw, pids, stats, oom_count, destroy.

Errors are berth.errdefs categories naming the field and file:
``linux.resources.memory.limit: write '/sys/fs/cgroup/memory/x/memory.limit_in_bytes':
device or resource busy``. Only ``os``/``errno`` are imported up front; controller
modules load when their resources are applied (this package is on
``berth-runtime create``'s path).

Typical use (the runtime)::

    setup = cgroups.detect()
    path = cgroups.resolve_path(spec_cgroups_path, container_id)
    warnings = cgroups.validate(resources, setup)
    m = cgroups.Manager.create(setup, path, resources)
    m.add(pid)
"""

from __future__ import annotations

from .checks import validate
from .manager import Manager
from .paths import current_cgroup, resolve_path
from .setup import Setup, detect

__all__ = ["Manager", "Setup", "current_cgroup", "detect", "resolve_path", "validate"]
