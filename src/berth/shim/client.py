"""The daemon's side of berth-shim: launch one, talk to its control socket, read the exit
record it left. Blocking calls (the engine runs them off its event loop)."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from berth import errdefs
from berth.oci import fastjson

__all__ = ["OCIRuntimeError", "ShimClient", "ShimPool", "launch", "launch_exec", "read_exit", "use_pool"]

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


_STANDBY_ENV = "_BERTH_SHIM_STANDBY_FD"


def _spawn_detached(argv: list[str], env_extra: dict[str, str], pass_fds: tuple[int, ...]) -> None:
    """Start ``argv`` in its own session, detached from us and a child subreaper
    (:func:`_detach_and_subreap`), with ``pass_fds`` open and ``env_extra`` added."""
    p = subprocess.Popen(
        argv, env={**os.environ, **env_extra}, pass_fds=pass_fds, start_new_session=True,
        preexec_fn=_detach_and_subreap, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    p.wait()  # the intermediate child, gone at once


class _Standby:
    """One shim started ahead of need: its process, the pipe its command line goes down,
    the pipe its ``ok PID`` comes back up."""

    def __init__(self, shim: Sequence[str]) -> None:
        if not _load_libc():
            raise OSError("no ctypes: cannot start a standby shim")
        self.shim = list(shim)
        self.ready_r, ready_w = os.pipe()
        cmd_r, self.cmd_w = os.pipe()
        try:
            # the padding makes room for the real command line (berth.shim.main._retitle)
            _spawn_detached(
                [*self.shim, "--standby=" + "." * 1024],
                {_SERVE_ENV: str(ready_w), _STANDBY_ENV: str(cmd_r)},
                (ready_w, cmd_r),
            )
        except BaseException:
            for fd in (self.ready_r, self.cmd_w):
                os.close(fd)
            raise
        finally:
            os.close(ready_w)
            os.close(cmd_r)
        os.set_inheritable(self.cmd_w, False)

    def hand(self, args: list[str], what: str, timeout: float) -> int:
        try:
            try:
                os.write(self.cmd_w, fastjson.dumps(args).encode())
            finally:
                os.close(self.cmd_w)
            return _read_ready(self.ready_r, what, timeout)
        finally:
            os.close(self.ready_r)

    def discard(self) -> None:
        os.close(self.cmd_w)  # EOF: the standby exits
        os.close(self.ready_r)


class ShimPool:
    """Keeps one berth-shim started and waiting, so a container's start does not wait for
    an interpreter to start and import the shim (~10 ms): the waiting shim is handed the
    container's command line, and a new one is started in the background. A standby
    that is never used exits when its pipe closes (the pool closes, or berthd dies)."""

    def __init__(self, shim: Sequence[str]) -> None:
        self.shim = list(shim)
        self._lock = threading.Lock()
        self._ready: _Standby | None = None
        self._closed = False

    def _refill(self) -> None:
        try:
            sb = _Standby(self.shim)
        except (OSError, subprocess.SubprocessError):
            return
        with self._lock:
            if self._ready is None and not self._closed:
                self._ready, sb = sb, None  # type: ignore[assignment]
        if sb is not None:
            sb.discard()

    def refill_later(self) -> None:
        threading.Thread(target=self._refill, name="shim-standby", daemon=True).start()

    def launch(self, argv: list[str], what: str, timeout: float) -> int | None:
        """Hand ``argv`` (the shim's arguments after its own path) to the standby; None
        when there is none (the caller launches directly)."""
        with self._lock:
            sb, self._ready = self._ready, None
        if not self._closed:
            self.refill_later()
        if sb is None:
            return None
        return sb.hand(argv, what, timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sb, self._ready = self._ready, None
        if sb is not None:
            sb.discard()


_pool: ShimPool | None = None


def use_pool(pool: ShimPool | None) -> None:
    """Route launches of ``pool.shim`` through ``pool`` (berthd's wiring calls this)."""
    global _pool
    _pool = pool


def _load_libc() -> bool:
    global _libc
    if _libc is None:
        try:
            import ctypes

            _libc = ctypes.CDLL(None, use_errno=True)
        except (ImportError, OSError):
            return False
    return True


def _read_ready(r: int, what: str, timeout: float) -> int:
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
    if data.startswith(b"ok "):
        return int(data[3:].decode().strip())
    lines = data.decode("utf-8", "replace").splitlines()
    msg = lines[0][6:].strip() if lines and lines[0].startswith("error ") else "shim died"
    detail = [ln[8:] for ln in lines[1:] if ln.startswith("runtime ")]
    if detail:
        raise OCIRuntimeError(f"{what}: {msg}", detail[-1])
    raise errdefs.Internal(f"{what}: {msg}")


def _launch_direct(argv: list[str], what: str, timeout: float) -> int | None:
    """Start the shim without its launcher process: one Python start less on every
    container start. The caller's side of what ``berth-shim`` does in
    :func:`berth.shim.main.main` — detach, become subreaper, exec the shim proper, read
    ``ok PID`` or ``error MSG`` (and ``runtime ITS-MESSAGE``) from the ready pipe.
    None when this cannot be done here (no ctypes): the caller runs the launcher."""
    if not _load_libc():
        return None
    pool = _pool
    if pool is not None and argv[: len(pool.shim)] == pool.shim:
        pid = pool.launch(argv[len(pool.shim) :], what, timeout)
        if pid is not None:
            return pid
    r, w = os.pipe()
    try:
        try:
            _spawn_detached(argv, {_SERVE_ENV: str(w)}, (w,))
        except OSError as exc:
            raise errdefs.Internal(f"{what}: run '{argv[0]}': {exc.strerror or exc}") from exc
        os.close(w)
        w = -1
        return _read_ready(r, what, timeout)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


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
