"""The daemon's side of berth-shim: launch one, talk to its control socket, read the exit
record it left. Blocking calls (the engine runs them off its event loop)."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any

from berth import errdefs
from berth.oci import fastjson

__all__ = ["OCIRuntimeError", "ShimClient", "launch", "launch_exec", "read_exit"]

_KINDS: dict[str, type[errdefs.BerthError]] = {
    "conflict": errdefs.Conflict,
    "invalid": errdefs.InvalidArgument,
    "internal": errdefs.Internal,
}


class OCIRuntimeError(errdefs.Internal):
    """The OCI runtime refused to create the container or exec the process.

    ``runtime_message`` is the runtime's own last word, e.g. runc's ``exec failed: unable
    to start container process: exec: "nope": executable file not found in $PATH`` or
    berth-runtime's ``exec: "nope": executable file not found in $PATH``: the daemon
    quotes it (Docker's ``OCI runtime exec failed: <it>: unknown``) and reads 127 (not
    found) or 126 (permission denied) from it."""

    def __init__(self, message: str, runtime_message: str) -> None:
        super().__init__(message)
        self.runtime_message = runtime_message


def launch(
    shim: Sequence[str],
    *,
    id: str,
    bundle: str,
    state_dir: str,
    runtime: str,
    runtime_root: str,
    log_path: str = "",
    log_opts: Mapping[str, str] | None = None,
    tty: bool = False,
    stdin: bool = False,
    stdin_once: bool = False,
    linger: float | None = None,
    timeout: float = 60,
) -> int:
    """Start a detached shim (``shim`` is its argv prefix, e.g. ``["berth-shim"]``) that
    creates the container; returns the shim's pid once the container is created."""
    argv = [*shim, "--id", id, "--bundle", bundle, "--state-dir", state_dir, "--runtime", runtime,
            "--runtime-root", runtime_root]  # fmt: skip
    if log_path:
        argv += ["--log-path", log_path]
    for k, v in (log_opts or {}).items():
        argv += ["--log-opt", f"{k}={v}"]
    argv += [
        f for f, on in (("--tty", tty), ("--stdin", stdin), ("--stdin-once", stdin_once)) if on
    ]
    if linger is not None:
        argv += ["--linger", str(linger)]
    return _run_launcher(argv, f"start shim for '{id}'", timeout)


def launch_exec(
    shim: Sequence[str],
    *,
    exec_id: str,
    process: str,
    id: str,
    state_dir: str,
    runtime: str,
    runtime_root: str,
    tty: bool = False,
    stdin: bool = False,
    stdin_once: bool = False,
    linger: float | None = None,
    timeout: float = 60,
) -> int:
    """Start a detached exec-mode shim that runs the OCI process in ``process`` (a
    process.json path; its ``terminal`` must agree with ``tty``) inside the running
    container ``id``; returns the shim's pid once the process has started. Its output is
    held for the first attach; ``state_dir`` is the exec's own. Raises
    :class:`OCIRuntimeError` when the runtime refuses (command not found …)."""
    argv = [*shim, "--exec-id", exec_id, "--process", process, "--id", id,
            "--state-dir", state_dir, "--runtime", runtime, "--runtime-root", runtime_root]  # fmt: skip
    argv += [
        f for f, on in (("--tty", tty), ("--stdin", stdin), ("--stdin-once", stdin_once)) if on
    ]
    if linger is not None:
        argv += ["--linger", str(linger)]
    return _run_launcher(argv, f"exec '{exec_id}' in '{id}'", timeout)


_SERVE_ENV = "_BERTH_SHIM_READY_FD"  # berth.shim.main's: serve at once, report on this fd
_PR_SET_CHILD_SUBREAPER = 36
_libc: Any = None


def _detach_and_subreap() -> None:
    """``preexec_fn`` of a direct launch, in the child after its setsid(2): fork again so
    the shim is no session leader and no child of the caller, and make it a child
    subreaper (prctl(2); the flag survives execve(2))."""
    if os.fork():
        os._exit(0)
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _launch_direct(argv: list[str], what: str, timeout: float) -> int | None:
    """Start the shim without its launcher process: one Python start less on every
    container start. The caller's side of what ``berth-shim`` does in
    :func:`berth.shim.main.main` — detach, become subreaper, exec the shim proper, read
    ``ok PID`` or ``error MSG`` (and ``runtime ITS-MESSAGE``) from the ready pipe.
    None when this cannot be done here (no ctypes): the caller runs the launcher."""
    global _libc
    if _libc is None:
        try:
            import ctypes

            _libc = ctypes.CDLL(None, use_errno=True)
        except (ImportError, OSError):
            return None
    r, w = os.pipe()
    try:
        env = dict(os.environ)
        env[_SERVE_ENV] = str(w)
        try:
            p = subprocess.Popen(
                argv, env=env, pass_fds=(w,), start_new_session=True, preexec_fn=_detach_and_subreap,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except OSError as exc:
            raise errdefs.Internal(f"{what}: run '{argv[0]}': {exc.strerror or exc}") from exc
        p.wait()  # the intermediate child, gone at once
        os.close(w)
        w = -1
        data = b""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                raise errdefs.Internal(f"{what}: berth-shim did not answer in {timeout:g}s")
            chunk = os.read(r, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    if data.startswith(b"ok "):
        return int(data[3:].decode().strip())
    lines = data.decode("utf-8", "replace").splitlines()
    msg = lines[0][6:].strip() if lines and lines[0].startswith("error ") else "shim died"
    detail = [ln[8:] for ln in lines[1:] if ln.startswith("runtime ")]
    if detail:
        raise OCIRuntimeError(f"{what}: {msg}", detail[-1])
    raise errdefs.Internal(f"{what}: {msg}")


def _run_launcher(argv: list[str], what: str, timeout: float) -> int:
    """Start the shim: directly (:func:`_launch_direct`), else through ``berth-shim``'s
    launcher, which prints the detached shim's pid, or on stderr ``berth-shim: MSG`` and,
    when the runtime refused, ``runtime: ITS-MESSAGE``."""
    if os.path.basename(argv[0]) == "berth-shim":  # the real one: it knows the ready pipe
        pid = _launch_direct(argv, what, timeout)
        if pid is not None:
            return pid
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise errdefs.Internal(f"{what}: berth-shim did not answer in {timeout:g}s") from None
    except OSError as exc:
        raise errdefs.Internal(f"{what}: run '{argv[0]}': {exc.strerror or exc}") from exc
    if p.returncode != 0:
        lines = p.stderr.strip().splitlines()
        msg = lines[0].removeprefix("berth-shim: ") if lines else f"exit {p.returncode}"
        detail = [ln[9:] for ln in lines[1:] if ln.startswith("runtime: ")]
        if detail:
            raise OCIRuntimeError(f"{what}: {msg}", detail[-1])
        raise errdefs.Internal(f"{what}: {msg}")
    return int(p.stdout.strip())


def read_exit(state_dir: str) -> dict[str, Any] | None:
    """The exit record the shim wrote, or None while the container has not exited."""
    try:
        with open(os.path.join(state_dir, "exit.json"), "rb") as f:
            d: dict[str, Any] = fastjson.loads(f.read())
            return d
    except FileNotFoundError:
        return None


class ShimClient:
    """One container's (or one exec's) shim, reached through ``<state_dir>/shim.sock``."""

    def __init__(self, state_dir: str, timeout: float | None = 30) -> None:
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, "shim.sock")
        self.timeout = timeout

    def alive(self) -> bool:
        try:
            self.state()
        except (errdefs.Unavailable, errdefs.NotFound):
            return False
        return True

    def _connect(self, timeout: float | None) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.path)
        except FileNotFoundError:
            s.close()
            raise errdefs.NotFound(f"shim socket '{self.path}': no such file") from None
        except OSError as exc:
            s.close()
            raise errdefs.Unavailable(
                f"connect shim socket '{self.path}': {exc.strerror or exc}"
            ) from exc
        return s

    @staticmethod
    def _read_line(s: socket.socket) -> tuple[dict[str, Any], bytes]:
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise errdefs.Unavailable("shim closed the connection")
            buf += chunk
        line, _, rest = buf.partition(b"\n")
        msg: dict[str, Any] = fastjson.loads(line)
        if not msg.get("ok"):
            raise _KINDS.get(msg.get("kind", ""), errdefs.Internal)(
                str(msg.get("error", "shim error"))
            )
        return msg, rest

    def call(self, op: str, timeout: float | None = -1.0, **fields: Any) -> dict[str, Any]:
        s = self._connect(self.timeout if timeout == -1.0 else timeout)
        try:
            s.sendall((fastjson.dumps({"op": op, **fields}) + "\n").encode())
            return self._read_line(s)[0]
        except TimeoutError:
            raise errdefs.Unavailable(f"shim '{self.path}': no answer to {op!r}") from None
        except OSError as exc:  # the shim went away mid-call (reset, broken pipe)
            raise errdefs.Unavailable(f"shim '{self.path}': {op}: {exc.strerror or exc}") from exc
        finally:
            s.close()

    def state(self) -> dict[str, Any]:
        return self.call("state")

    def start(self) -> dict[str, Any]:
        return self.call("start")

    def kill(self, signal: int = 15, all: bool = False) -> None:
        self.call("kill", signal=signal, all=all)

    def resize(self, height: int, width: int) -> None:
        self.call("resize", height=height, width=width)

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        exit_: dict[str, Any] = self.call("wait", timeout=timeout)["exit"]
        return exit_

    def delete(self, force: bool = False, runtime: bool = True) -> dict[str, Any] | None:
        """End the shim; ``runtime=False`` skips the runtime's ``delete`` when the process
        has exited (the caller deletes the runtime's container itself)."""
        exit_: dict[str, Any] | None = self.call("delete", force=force, runtime=runtime).get("exit")
        return exit_

    def attach(self, stdin: bool = False) -> tuple[socket.socket, bool, bytes]:
        """Open an attach stream: (socket, tty, output bytes already received)."""
        s = self._connect(self.timeout)
        try:
            s.sendall((fastjson.dumps({"op": "attach", "stdin": stdin}) + "\n").encode())
            msg, rest = self._read_line(s)
        except BaseException:
            s.close()
            raise
        return s, bool(msg.get("tty")), rest
