"""``docker exec``: more processes in a running container, each under its own exec-mode
berth-shim (:mod:`berth.shim`, "Exec mode").

Vocabulary (moby ``daemon/exec.go``):

- an **exec** (exec instance) is made by *create* (``POST /containers/{id}/exec``), which
  only records what to run and returns a 64-hex **exec id**; *start* (``POST
  /exec/{id}/start``) runs it once. Records live in memory only, as in dockerd: they are
  kept while their container exists (exited ones are forgotten after
  :data:`FORGET_AFTER`, dockerd's exec GC), and the container's ``exec_ids`` lists the
  ones created or running (dockerd's ``ExecIDs``).
- the **process** an exec runs is the container's OCI ``process`` (from the bundle's
  ``config.json``: capabilities, ``noNewPrivileges``, rlimits, AppArmor/SELinux labels…)
  with the exec's own args, env (the container's environment with the exec's ``Env``
  on top), cwd, user and terminal; ``Privileged`` gives it every capability.
- the exec's **state dir** is ``<exec_root>/x/<exec id[:20]>`` (short: the shim's sockets
  live there and AF_UNIX paths end at 108 bytes).

A **monitor** thread per started exec waits on its shim for the exit, records the exit
code, deletes the shim and removes the state dir. The exec's processes die with the
container: in the container's PID namespace the kernel kills them when its init exits;
for a container sharing another PID namespace the monitor notices the container has
stopped (or restarted) and kills the exec itself.

An exec the runtime refuses to start (``exec: "nope": executable file not found in
$PATH``) gets exit code 127, one that cannot be invoked (permission denied) 126, any
other start failure 126 (moby ``setExitCodeFromError``, the deferred ``exitEaccess``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from berth import errdefs, ids
from berth.engine.containers import spec, user
from berth.engine.containers.merge import replace_or_append_env
from berth.engine.containers.model import Container
from berth.engine.containers.service import ContainerService
from berth.engine.containers.spec_security import ALL_CAPS
from berth.oci import fastjson
from berth.shim.client import OCIRuntimeError, ShimClient, launch_exec, read_exit

__all__ = ["FORGET_AFTER", "Exec", "ExecOptions", "ExecService", "ExecStartError"]

log = logging.getLogger("berthd.exec")

FORGET_AFTER = 600.0  # seconds an exited exec stays inspectable (dockerd: 5-10 min)
_POLL = 1.0  # how often a monitor looks at its container while the exec runs
_LINGER = 30.0  # an exec shim whose daemon went away ends this long after the exit


@dataclass
class ExecOptions:
    """What ``POST /containers/{id}/exec`` asks for (Docker's ExecConfig)."""

    cmd: list[str]
    env: list[str] = field(default_factory=list)
    user: str = ""
    working_dir: str = ""
    tty: bool = False
    privileged: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    detach_keys: str = ""
    console_size: list[int] | None = None  # [height, width]


@dataclass
class Exec:
    """One exec instance. ``exit_code`` is None until the process has exited (or failed
    to start); ``running`` is true from start until then."""

    id: str
    container_id: str
    entrypoint: str
    args: list[str]
    env: list[str]
    user: str  # as asked, else the container's
    working_dir: str  # as asked, else the container's
    tty: bool
    privileged: bool
    open_stdin: bool
    open_stdout: bool
    open_stderr: bool
    detach_keys: str
    console_size: list[int] | None
    state_dir: str
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    can_remove: bool = False
    started: bool = False
    exited_mono: float = 0.0
    container_started_at: str = ""
    done: threading.Event = field(default_factory=threading.Event, repr=False)
    launched: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def command(self) -> str:
        """What the exec events name: Docker's ``entrypoint + " " + args`` (with the
        trailing space when there are no args)."""
        return f"{self.entrypoint} {' '.join(self.args)}"


class ExecStartError(errdefs.InvalidArgument):
    """The runtime refused to start the exec's process; the message is Docker's
    ``OCI runtime exec failed: …: unknown``."""


class ExecService:
    """Exec instances of the containers of one :class:`ContainerService`."""

    def __init__(self, containers: ContainerService) -> None:
        self.containers = containers
        self._execs: dict[str, Exec] = {}
        self._lock = threading.Lock()
        self._dir = os.path.join(containers.cfg.exec_root, "x")
        os.makedirs(self._dir, 0o700, exist_ok=True)
        for c in containers.list():  # records of a previous daemon are gone
            c.exec_ids.clear()

    # -- lookup ----------------------------------------------------------------------------

    def get(self, eid: str) -> Exec:
        """The exec ``eid`` (its full id); NotFound as Docker's ``No such exec instance``,
        also once its container is gone."""
        with self._lock:
            ex = self._execs.get(eid)
        if ex is None:
            raise errdefs.NotFound(f"No such exec instance: {eid}")
        try:
            self.containers.get(ex.container_id)
        except errdefs.NotFound:
            self._forget(ex)
            raise errdefs.NotFound(f"No such exec instance: {eid}") from None
        return ex

    def _active(self, eid: str) -> tuple[Exec, Container]:
        """The exec and its container, which must be running (moby getExecConfig)."""
        ex = self.get(eid)
        c = self.containers.get(ex.container_id)
        self._check_running(c, c.id)
        return ex, c

    @staticmethod
    def _check_running(c: Container, ref: str) -> None:
        st = c.state
        if not st.running:
            raise errdefs.Conflict(f"Container {c.id} is not running")
        if st.paused:
            raise errdefs.Conflict(f"Container {ref} is paused, unpause the container before exec")
        if st.restarting:
            raise errdefs.Conflict(f"Container {c.id} is restarting, wait until the container is running")

    def _forget(self, ex: Exec) -> None:
        with self._lock:
            self._execs.pop(ex.id, None)
        with contextlib.suppress(errdefs.NotFound):
            c = self.containers.get(ex.container_id)
            with self.containers.lock(c.id):
                if ex.id in c.exec_ids:
                    c.exec_ids.remove(ex.id)

    def _gc(self) -> None:
        """Forget execs whose container is gone, and those exited long ago."""
        now = time.monotonic()
        with self._lock:
            execs = list(self._execs.values())
        for ex in execs:
            try:
                self.containers.get(ex.container_id)
            except errdefs.NotFound:
                self._forget(ex)
                continue
            if ex.exited_mono and now - ex.exited_mono > FORGET_AFTER:
                self._forget(ex)

    # -- create ----------------------------------------------------------------------------

    def create(self, ref: str, opts: ExecOptions) -> Exec:
        """Record an exec in the running container ``ref`` (moby ContainerExecCreate)."""
        if not opts.cmd:
            raise errdefs.InvalidArgument("No exec command specified")
        c = self.containers.get(ref)
        self._check_running(c, ref)
        # the user is resolved at start, as dockerd does: `exec -u nosuch` then fails in the
        # exec's stream with exit code 126, not as a daemon error at create
        self._gc()
        eid = ids.new_id()
        ex = Exec(
            id=eid,
            container_id=c.id,
            entrypoint=opts.cmd[0],
            args=list(opts.cmd[1:]),
            env=_exec_env(c, opts.tty, opts.env),
            user=opts.user or c.config.user,
            working_dir=opts.working_dir or c.config.working_dir,
            tty=opts.tty,
            privileged=opts.privileged,
            open_stdin=opts.attach_stdin,
            open_stdout=opts.attach_stdout,
            open_stderr=opts.attach_stderr,
            detach_keys=opts.detach_keys,
            console_size=list(opts.console_size) if opts.console_size else None,
            state_dir=os.path.join(self._dir, eid[:20]),
        )
        with self._lock:
            self._execs[eid] = ex
        with self.containers.lock(c.id):
            c.exec_ids.append(eid)
        self.containers._event(c, f"exec_create: {ex.command}", execID=eid)
        return ex

    # -- start -----------------------------------------------------------------------------

    def check_startable(self, eid: str) -> Exec:
        """The exec, when it can be started now (the API checks before hijacking)."""
        ex, _ = self._active(eid)
        if ex.exit_code is not None:
            raise errdefs.Conflict(f"exec command {ex.id} has already run")
        if ex.running:
            raise errdefs.Conflict(f"exec command {ex.id} is already running")
        return ex

    def start(
        self, eid: str, console_size: list[int] | None = None, attach: bool = False
    ) -> tuple[socket.socket, bool, bytes] | None:
        """Run the exec's process. With ``attach`` the process's streams are returned
        (socket, tty, output already received) before the monitor may collect the exit;
        ExecStartError (with the exit code recorded) when the runtime refuses."""
        ex, c = self._active(eid)
        with self._lock:
            if ex.exit_code is not None:
                raise errdefs.Conflict(f"exec command {ex.id} has already run")
            if ex.running:
                raise errdefs.Conflict(f"exec command {ex.id} is already running")
            ex.running = True
        self.containers._event(c, f"exec_start: {ex.command}", execID=ex.id)
        streams: tuple[socket.socket, bool, bytes] | None = None
        try:
            process = self._process(c, ex, console_size)
            shutil.rmtree(ex.state_dir, ignore_errors=True)
            os.makedirs(ex.state_dir, 0o700)
            path = os.path.join(ex.state_dir, "process.json")
            with open(path, "w") as f:
                f.write(fastjson.dumps(process))
            runtime = c.runtime or self.containers.cfg.default_runtime
            launch_exec(
                self.containers.cfg.shim,
                exec_id=ex.id,
                process=path,
                id=c.id,
                state_dir=ex.state_dir,
                runtime=self.containers.runtime_binary(c),
                runtime_root=self.containers.runtime_root(runtime),
                tty=ex.tty,
                stdin=ex.open_stdin,
                stdin_once=ex.open_stdin,
                linger=_LINGER,
            )
            shim = ShimClient(ex.state_dir)
            ex.pid = int(shim.state().get("pid") or 0)
            if attach:
                streams = shim.attach(stdin=ex.open_stdin)
        except BaseException as exc:
            self._start_failed(c, ex, exc)
            raise _start_error(exc) from exc
        finally:
            ex.launched.set()
        ex.started = True
        ex.container_started_at = c.state.started_at
        t = threading.Thread(target=self._monitor, args=(ex, not c.host_config.pid_mode), name=f"exec-{ex.id[:12]}", daemon=True)
        t.start()
        return streams

    def _process(self, c: Container, ex: Exec, console_size: list[int] | None) -> dict[str, Any]:
        """The OCI process: the container's, with the exec's args, env, cwd, user,
        terminal and capabilities (moby ContainerExecStart + execSetPlatformOpt)."""
        try:
            with open(os.path.join(self.containers.bundle(c), "config.json"), "rb") as f:
                doc: dict[str, Any] = fastjson.loads(f.read())
        except (OSError, ValueError) as exc:
            raise errdefs.Internal(f"read the OCI spec of container {c.id}: {exc}") from exc
        p: dict[str, Any] = dict(doc.get("process") or {})
        p["args"] = [ex.entrypoint, *ex.args]
        p["env"] = list(ex.env)
        p["cwd"] = ex.working_dir or "/"
        p["terminal"] = ex.tty
        p.pop("consoleSize", None)
        size = console_size or ex.console_size
        if ex.tty and size and len(size) == 2 and (size[0] or size[1]):
            p["consoleSize"] = {"height": int(size[0]), "width": int(size[1])}
        if ex.user:
            uid, gid, groups = user.resolve_user(self.containers.rootfs(c), ex.user, c.host_config.group_add)
            prev = p.get("user") or {}
            p["user"] = {**prev, "uid": uid, "gid": gid, "additionalGids": groups}
        if ex.privileged:
            caps = dict(p.get("capabilities") or {})
            for s in ("bounding", "effective", "permitted"):
                caps[s] = list(ALL_CAPS)
            p["capabilities"] = caps
            p.pop("apparmorProfile", None)
        return p

    def _start_failed(self, c: Container, ex: Exec, exc: BaseException) -> None:
        code = 126
        if isinstance(exc, OCIRuntimeError):
            low = exc.runtime_message.lower()
            if "permission denied" in low or "is a directory" in low:
                code = 126
            elif "executable file not found" in low or "no such file or directory" in low:
                code = 127
        if os.path.exists(os.path.join(ex.state_dir, "shim.sock")):
            with contextlib.suppress(errdefs.BerthError, OSError):
                ShimClient(ex.state_dir, timeout=10).delete(force=True)
        shutil.rmtree(ex.state_dir, ignore_errors=True)
        self._record_exit(c, ex, code)

    def _record_exit(self, c: Container, ex: Exec, code: int) -> None:
        with self._lock:
            if ex.exit_code is not None:
                return
            ex.exit_code = code
            ex.running = False
            ex.exited_mono = time.monotonic()
        with self.containers.lock(c.id):
            if ex.id in c.exec_ids:
                c.exec_ids.remove(ex.id)
        ex.done.set()
        self.containers._event(c, "exec_die", execID=ex.id, exitCode=str(code))

    # -- exit ------------------------------------------------------------------------------

    def _monitor(self, ex: Exec, own_pidns: bool) -> None:
        """Wait for the exec's exit. In the container's own PID namespace the kernel
        ends the exec with the init, so one blocking wait does; otherwise the monitor
        looks at the container every :data:`_POLL` seconds and kills the exec itself."""
        poll = None if own_pidns else _POLL
        shim = ShimClient(ex.state_dir, timeout=poll)
        exit_: dict[str, Any] | None = None
        c: Container | None = None
        while exit_ is None:
            try:
                exit_ = shim.wait(timeout=poll)
                break
            except TimeoutError:
                pass
            except (errdefs.BerthError, OSError):
                if not os.path.exists(shim.path):
                    exit_ = read_exit(ex.state_dir) or {"exit_code": 255}
                    break
                time.sleep(0.2)
            if self.containers._closing:
                return
            try:
                c = self.containers.get(ex.container_id)
                gone = not c.state.running or c.state.started_at != ex.container_started_at
            except errdefs.NotFound:
                gone = True
            if gone:  # the container stopped: its execs die with it
                with contextlib.suppress(errdefs.BerthError, OSError):
                    exit_ = ShimClient(ex.state_dir, timeout=15).delete(force=True)
                exit_ = exit_ or read_exit(ex.state_dir) or {"exit_code": 137}
        with contextlib.suppress(errdefs.BerthError, OSError):
            ShimClient(ex.state_dir, timeout=10).delete(force=True)
        shutil.rmtree(ex.state_dir, ignore_errors=True)
        code = int(exit_.get("exit_code", 255))
        try:
            c = self.containers.get(ex.container_id)
        except errdefs.NotFound:
            with self._lock:
                ex.exit_code, ex.running = code, False
            ex.done.set()
            self._forget(ex)
            return
        self._record_exit(c, ex, code)

    def wait_exit(self, eid: str, timeout: float) -> int | None:
        """After an attached stream ended: the exit code once recorded (within
        ``timeout`` seconds); None at once when the process still runs (the client
        detached, which is then published as ``exec_detach``)."""
        with self._lock:
            ex = self._execs.get(eid)
        if ex is None:
            return None
        if not ex.done.is_set():
            with contextlib.suppress(errdefs.BerthError, OSError):
                if ShimClient(ex.state_dir, timeout=5).state().get("status") == "running":
                    with contextlib.suppress(errdefs.NotFound):
                        c = self.containers.get(ex.container_id)
                        self.containers._event(c, "exec_detach", execID=ex.id)
                    return None
        if not ex.done.wait(timeout):
            return None
        return ex.exit_code

    # -- resize ----------------------------------------------------------------------------

    def resize(self, eid: str, height: int, width: int) -> None:
        """Set the exec's terminal size; waits (10 s, as dockerd) for a start under way."""
        ex, _ = self._active(eid)
        if not ex.launched.wait(10):
            raise errdefs.Internal("timeout waiting for exec session ready")
        if not ex.started:
            raise errdefs.InvalidArgument("exec process is not started")
        if not ex.tty or ex.exit_code is not None:
            return
        try:
            ShimClient(ex.state_dir).resize(height, width)
        except (errdefs.NotFound, errdefs.Unavailable):
            if ex.exit_code is None and not ex.done.wait(1):
                raise

    def list_ids(self, container_id: str) -> list[str]:
        with self._lock:
            return [e.id for e in self._execs.values() if e.container_id == container_id]


def _exec_env(c: Container, tty: bool, extra: list[str]) -> list[str]:
    """The container's environment as dockerd builds it for the exec (TERM follows the
    exec's tty), with the exec's own ``Env`` replacing or appended; a bare ``NAME``
    unsets (moby ReplaceOrAppendEnvValues)."""
    base = spec.container_env(dataclasses.replace(c, config=dataclasses.replace(c.config, tty=tty)))
    return replace_or_append_env(base, extra)


def _start_error(exc: BaseException) -> errdefs.BerthError:
    if isinstance(exc, OCIRuntimeError):
        msg = exc.runtime_message
        if not msg.startswith("exec failed:"):
            msg = f"exec failed: unable to start container process: {msg}"
        return ExecStartError(f"OCI runtime exec failed: {msg}: unknown")
    if isinstance(exc, errdefs.BerthError):
        return exc
    return errdefs.Internal(str(exc))

