"""OCI ``linux.resources.unified``: cgroup v2 files set by name (config-linux.md
"Unified"), for knobs the typed fields do not cover (``memory.high``, ``cpu.weight``,
``io.latency`` …). Each key is a file name in the container's group; a multi-line value
is written one line per ``write(2)``, as files such as ``io.max`` take one entry per
write (runc WriteFileByLine). A file that is missing because its controller is not
available is reported as such.
"""

from __future__ import annotations

import errno

from berth.errdefs import BerthError, FailedPrecondition

from .._files import read_optional, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._files import Resources

_F = "linux.resources.unified"


def apply(resources: Resources, path: str) -> None:
    for key, value in (resources.get("unified") or {}).items():
        field = f"{_F}.{key}"
        for line in value.split("\n") or [""]:
            if not line and "\n" in value:
                continue
            try:
                write(path, key, line, field)
            except BerthError as err:
                if getattr(err, "errno", 0) in (errno.ENOENT, errno.EPERM, errno.EACCES):
                    controller = key.partition(".")[0]
                    available = (read_optional(path, "cgroup.controllers") or "").split()
                    if controller != "cgroup" and controller not in available:
                        raise FailedPrecondition(
                            f"{field}: the {controller} controller is not available in {path!r}"
                        ) from err
                raise
