"""The OCI runtime library behind ``berth-runtime``.

Vocabulary (OCI runtime spec, runtime.md):

- **bundle** — a directory with ``config.json`` and (usually) the root filesystem.
- **container id** — the name the caller gives; a directory under the state root
  (``--root``, default ``/run/berth-runtime``) holds ``state.json`` and ``exec.fifo``.
- **init** — the container's first process. ``create`` prepares it completely (namespaces,
  cgroups, mounts, pivot_root, credentials) and leaves it blocked opening ``exec.fifo``;
  ``start`` opens the other end and it execs the user's program.
- **status** — creating, created, running, paused, stopped; derived from the init process
  and the fifo each time it is asked (:mod:`berth.runtime.state`).

Modules: :mod:`.config` (load and check config.json), :mod:`.state` (status machine and
state directory), :mod:`.namespaces` (the ordered list), :mod:`.rootfs` (mounts, devices,
pivot_root, masked and read-only paths), :mod:`.init` (the child's side of create/exec),
:mod:`.container` (create/start/kill/delete/…), :mod:`.hooks`, :mod:`.tty`.
"""
