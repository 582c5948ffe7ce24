"""OCI hooks (config.md "POSIX-platform Hooks").

Each hook is ``path`` run with ``args`` and ``env``, the container's state JSON on stdin,
and an optional ``timeout`` in seconds. When they run:

============== ===================================== ==================== ===============
hook           when                                  namespace            failure
============== ===================================== ==================== ===============
prestart       create, after namespaces and mounts,  runtime's            create fails
createRuntime  before pivot_root                     runtime's            create fails
createContainer                                      container's          create fails
startContainer start, just before the user's program container's          start fails
poststart      start, after the program was started  runtime's            a warning
poststop       delete, after the container is gone   runtime's            a warning
============== ===================================== ==================== ===============
"""

from __future__ import annotations

import os

from berth.errdefs import FailedPrecondition
from berth.oci import fastjson

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["run_hooks"]


def run_hooks(kind: str, hooks: list[dict[str, Any]], state: dict[str, Any]) -> list[str]:
    """Run each hook of ``kind`` in order. Raises FailedPrecondition on the first failure
    for the kinds that must succeed; returns warnings for poststart/poststop."""
    if not hooks:
        return []
    import subprocess

    data = fastjson.dumps(state).encode()
    warnings: list[str] = []
    for i, h in enumerate(hooks):
        args = h.get("args") or [h["path"]]
        env = dict(e.split("=", 1) for e in h.get("env", []) if "=" in e)
        what = f"{kind} hook #{i} ({h['path']})"
        try:
            p = subprocess.run(
                args,
                executable=h["path"],
                input=data,
                env=env,
                capture_output=True,
                timeout=h.get("timeout"),
                close_fds=True,
            )
        except subprocess.TimeoutExpired:
            msg = f"{what}: timed out after {h.get('timeout')}s"
        except OSError as exc:
            msg = f"{what}: {os.strerror(exc.errno or 0).lower()}"
        else:
            if p.returncode == 0:
                continue
            out = (p.stderr or p.stdout).decode("utf-8", "replace").strip()
            msg = f"{what}: exit status {p.returncode}" + (f": {out}" if out else "")
        if kind in ("poststart", "poststop"):
            warnings.append(msg)
            continue
        raise FailedPrecondition(msg)
    return warnings
