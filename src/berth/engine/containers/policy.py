"""Decisions about a container's process, as Docker makes them, kept pure so they are
tested alone: whether an exit restarts the container and after how long (restart
policies with Docker's back-off), and how a failed start is reported (the error the API
answers and the exit code ``docker run`` exits with: 127 not found, 126 not invocable,
128 otherwise — moby's ``translateContainerdStartErr``)."""

from __future__ import annotations

from berth import errdefs
from berth.engine.containers.model import Container
from berth.shim.client import OCIRuntimeError

__all__ = ["BACKOFF_MAX", "BACKOFF_RESET_AFTER", "BACKOFF_START", "next_backoff", "should_restart",
           "start_error", "start_exit_code"]  # fmt: skip

BACKOFF_START = 0.1  # seconds before the first restart
BACKOFF_MAX = 60.0  # the delay doubles up to this
BACKOFF_RESET_AFTER = 10.0  # a container up this long starts again from BACKOFF_START


def should_restart(c: Container, exit_code: int, closing: bool = False) -> bool:
    """Whether the restart policy brings ``c`` back after it exited with ``exit_code``.
    Never after a manual stop or kill, for ``--rm`` containers, or while the daemon shuts
    down; ``on-failure[:N]`` only for a non-zero code and at most N times."""
    if closing or c.manually_stopped or c.host_config.auto_remove:
        return False
    p = c.host_config.restart_policy
    if p.name in ("always", "unless-stopped"):
        return True
    if p.name == "on-failure" and exit_code != 0:
        return p.maximum_retry_count <= 0 or c.restart_count < p.maximum_retry_count
    return False


def next_backoff(previous: float, ran_for: float) -> float:
    """The delay before the next restart: 100 ms, doubling each time up to a minute,
    back to 100 ms once the container had run for 10 s (Docker's restart manager)."""
    if previous <= 0 or ran_for >= BACKOFF_RESET_AFTER:
        return BACKOFF_START
    return min(previous * 2, BACKOFF_MAX)


def start_exit_code(message: str) -> int:
    low = message.lower()
    if "executable file not found" in low or "no such file or directory" in low:
        return 127
    if "permission denied" in low:
        return 126
    return 128


def start_error(container_id: str, exc: BaseException) -> errdefs.BerthError:
    """The API's error for a start that failed with ``exc``: berth's own categories as
    they are; the runtime's refusal in Docker's words (``failed to create task for
    container: … OCI runtime create failed: …: unknown``), a 400 when the command cannot
    be found or run (the user's mistake), else a 500."""
    if isinstance(exc, errdefs.BerthError) and not isinstance(exc, errdefs.Internal):
        return exc
    if isinstance(exc, OCIRuntimeError) and exc.runtime_message:
        msg = exc.runtime_message
        if "unable to start container process" not in msg and msg.startswith("exec:"):
            msg = f"unable to start container process: {msg}"
    else:
        msg = exc.message if isinstance(exc, errdefs.BerthError) else str(exc)
        msg = msg.removeprefix(f"start shim for '{container_id}': ")
    text = f"failed to create task for container: failed to create shim task: OCI runtime create failed: {msg}: unknown"
    if start_exit_code(msg) in (126, 127):
        return errdefs.InvalidArgument(text)
    return errdefs.Internal(text)
