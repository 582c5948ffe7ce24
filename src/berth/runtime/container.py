"""The runtime's verbs as library functions: create, start, state, kill, delete, list, ps,
pause, resume, exec, run. Each CLI verb in :mod:`berth.ocicli` parses its flags into
arguments and calls one of these (crun's habit).

``create`` (parent side)::

    check config.json ─ state dir ─ cgroups ─ exec.fifo ─ fork stage 1 ─▶ go
      ◀─ userns: write maps ─▶ go        (new user namespace only)
      ◀─ pid (the init's host pid) ─▶ go, then add it to its cgroups ─▶ cgroup_ok
      ◀─ hooks: prestart, createRuntime ─▶ hooks_done      (only when there are some)
      ◀─ ready ─ save state.json, write --pid-file, exit

Any failure on the way kills what was forked and removes the cgroups and the state
directory, so a failed create leaves nothing behind.
"""

from __future__ import annotations

import os
import time

from berth.errdefs import (
    BerthError,
    Conflict,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
)
from berth.linux import proc as procfs
from berth.runtime.state import PAUSED, RUNNING, STOPPED, State, Status, Store, now_rfc3339

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.linux.syscalls import Syscalls

# start, state, kill and delete run once per container each and must start fast: the
# modules only create and exec need (config checks, the child protocol, namespaces,
# syscalls) are imported inside those two functions.

__all__ = [
    "create",
    "delete",
    "exec_process",
    "kill",
    "list_states",
    "pause",
    "ps",
    "resume",
    "start",
    "state",
]

SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8,
    "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
    "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22,
    "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29,
    "POLL": 29, "PWR": 30, "SYS": 31,
}  # fmt: skip


def parse_signal(s: str) -> int:
    """TERM, SIGTERM, 15, and SIGRTMIN+n all name a signal."""
    if s.isdigit():
        n = int(s)
        if not 0 < n < 65:
            raise InvalidArgument(f"invalid signal: {s}")
        return n
    name = s.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name.startswith("RTMIN") or name.startswith("RTMAX"):
        base = 34 if name.startswith("RTMIN") else 64
        off = name[5:]
        try:
            n = base + int(off) if off else base
        except ValueError:
            raise InvalidArgument(f"invalid signal: {s}") from None
        if 34 <= n <= 64:
            return n
    if name in SIGNALS:
        return SIGNALS[name]
    raise InvalidArgument(f"invalid signal: {s}")


# -- cgroups -------------------------------------------------------------------------------


def _cgroup_setup() -> Any:
    from berth import cgroups

    return cgroups.detect()


def _cgroup_manager(st: State) -> Any:
    if not st.cgroup_path:
        return None
    from berth import cgroups

    return cgroups.Manager.load(_cgroup_setup(), st.cgroup_path)


def _frozen(st: State) -> bool:
    m = _cgroup_manager(st)
    try:
        return bool(m and m.frozen())
    except (OSError, BerthError):
        return False


def status_of(store: Store, st: State) -> str:
    s = store.status(st)
    if s == RUNNING and _frozen(st):
        return PAUSED
    return s


# -- create --------------------------------------------------------------------------------


class CreateOptions:
    __slots__ = (
        "bundle", "console_fd", "console_socket", "no_new_keyring", "no_pivot", "pid_file",
        "preserve_fds", "warnings",
    )  # fmt: skip

    def __init__(self, bundle: str = ".") -> None:
        self.bundle = bundle
        self.pid_file = ""
        self.console_socket = ""
        self.console_fd = -1
        self.no_pivot = False
        self.no_new_keyring = False
        self.preserve_fds = 0
        self.warnings: list[str] = []  # filled by create: what this host cannot do


# The devices every container gets in its device cgroup after the spec's own rules, as
# runc does (libcontainer/specconv AllowedDevices): mknod of anything (the node is useless
# without r/w), the default nodes, the console and the ptys.
_ALLOWED_DEVICES = (
    ("c", None, None, "m"), ("b", None, None, "m"),
    ("c", 1, 3, "rwm"), ("c", 1, 5, "rwm"), ("c", 1, 7, "rwm"), ("c", 1, 8, "rwm"),
    ("c", 1, 9, "rwm"), ("c", 5, 0, "rwm"), ("c", 5, 1, "rwm"), ("c", 5, 2, "rwm"),
    ("c", 136, None, "rwm"),
)  # fmt: skip


def cgroup_resources(spec: dict[str, Any]) -> dict[str, Any] | None:
    """``linux.resources`` with the default device rules and one allow rule per
    ``linux.devices`` node appended (later rules win)."""
    lx = spec.get("linux") or {}
    res = lx.get("resources")
    if res is None or "devices" not in res:
        return res
    rules = list(res["devices"])
    for t, ma, mi, acc in _ALLOWED_DEVICES:
        rules.append({"allow": True, "type": t, "major": ma, "minor": mi, "access": acc})
    for d in lx.get("devices", []):
        if d["type"] in ("c", "b"):
            rules.append({"allow": True, "type": d["type"], "major": d["major"], "minor": d["minor"], "access": "rwm"})
    for r in rules:
        for k in ("major", "minor"):
            if r.get(k) is None:
                r.pop(k, None)
    out = dict(res)
    out["devices"] = rules
    return out


def _connect_console(path: str) -> int:
    import socket

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as exc:
        s.close()
        raise NotFound(f"connect to console socket {path!r}: {os.strerror(exc.errno or 0).lower()}") from exc
    return s.detach()


def _check_rlimits(spec: dict[str, Any]) -> None:
    """Refuse up front a hard limit above ours: without CAP_SYS_RESOURCE (this is often the
    case in sandboxes) the kernel would refuse it inside the child anyway."""
    rl = spec["process"].get("rlimits")
    if not rl:
        return
    import resource

    if _has_cap(24):  # CAP_SYS_RESOURCE
        return
    for i, r in enumerate(rl):
        from berth.runtime.config import RLIMITS

        n = RLIMITS[r["type"]]
        cur_hard = resource.getrlimit(n)[1]
        if cur_hard != resource.RLIM_INFINITY and r["hard"] > cur_hard:
            raise InvalidArgument(
                f"process.rlimits[{i}]: {r['type']} hard limit {r['hard']} is above the caller's hard limit"
                f" {cur_hard}, and raising a hard limit needs CAP_SYS_RESOURCE, which this process lacks"
            )


def _has_cap(n: int) -> bool:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> n & 1)
    except OSError:
        pass
    return False


def _write_maps(pid: int, spec: dict[str, Any]) -> None:
    lx = spec["linux"]
    for field, name in (("uidMappings", "uid_map"), ("gidMappings", "gid_map")):
        text = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in lx.get(field, []))
        try:
            fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
        except OSError as exc:
            raise InvalidArgument(
                f"linux.{field}: write {text.strip()!r} to /proc/{pid}/{name}: {os.strerror(exc.errno or 0).lower()}"
            ) from exc


def create(store: Store, container_id: str, opts: CreateOptions, sc: Syscalls | None = None) -> State:
    from berth.ids import validate_runtime_id
    from berth.linux import syscalls as S
    from berth.runtime import config as C
    from berth.runtime.messages import Channel, ChildError
    from berth.runtime.namespaces import Plan

    validate_runtime_id(container_id)
    bundle = os.path.realpath(opts.bundle)
    spec = C.load(bundle)
    plan = Plan.from_spec(spec)
    if "mount" not in plan.new and "mount" not in plan.join:
        raise InvalidArgument("linux.namespaces: a mount namespace is required to set up the root filesystem")
    if opts.console_socket and not spec["process"].get("terminal"):
        raise InvalidArgument("--console-socket given but process.terminal is false")
    if spec["process"].get("terminal") and not opts.console_socket and opts.console_fd < 0:
        raise InvalidArgument("process.terminal is true: --console-socket is required")
    _check_rlimits(spec)
    program = _confinement(store, spec, spec["process"], opts.warnings)
    sc = sc or S.default()
    state_dir = store.create_dir(container_id)
    st = State(container_id, bundle, C.rootfs_path(spec, bundle), spec)
    manager = None
    ch_parent = ch_child = None
    child_pids: list[int] = []
    console_fd = opts.console_fd
    try:
        from berth import cgroups

        setup = cgroups.detect()
        st.cgroup_path = cgroups.resolve_path((spec.get("linux") or {}).get("cgroupsPath", ""), container_id)
        resources = cgroup_resources(spec)
        for w in cgroups.validate(resources, setup):
            opts.warnings.append(w)
        manager = cgroups.Manager.create(setup, st.cgroup_path, resources)
        os.mkfifo(store.fifo(container_id), 0o622)
        os.chmod(store.fifo(container_id), 0o622)
        if opts.console_socket:
            console_fd = _connect_console(opts.console_socket)
        from berth.runtime.init import InitContext, preload, stage1

        preload(spec, spec["process"])
        ctx = InitContext(spec, spec["process"])
        ctx.bundle, ctx.rootfs, ctx.state_dir, ctx.container_id = bundle, st.rootfs, state_dir, container_id
        ctx.console_fd, ctx.preserve_fds = console_fd, opts.preserve_fds
        ctx.no_pivot, ctx.no_new_keyring = opts.no_pivot, opts.no_new_keyring
        ctx.cgroup_paths = dict(manager.paths)
        ctx.seccomp = program
        hooks = spec.get("hooks") or {}
        ctx.run_parent_hooks = bool(hooks.get("prestart") or hooks.get("createRuntime"))
        ch_parent, ch_child = Channel.pair()
        pid1 = os.fork()
        if pid1 == 0:
            ch_parent.close()
            stage1(sc, ch_child, ctx, plan)
        child_pids.append(pid1)
        ch_child.close()
        ch_child = None
        if console_fd >= 0 and opts.console_socket:
            os.close(console_fd)
        ch_parent.send("go")
        msg = ch_parent.recv()
        if msg is not None and msg["type"] == "userns":
            _write_maps(pid1, spec)
            ch_parent.send("go")
            msg = ch_parent.recv()
        if msg is None or msg["type"] != "pid":
            raise Internal(f"create {container_id}: stage 1 exited before reporting the init pid{_exit_text(pid1)}")
        st.pid = msg["pid"]
        child_pids.append(st.pid)
        os.waitpid(pid1, 0)
        child_pids.remove(pid1)
        st.start_time = procfs.start_time(st.pid) or 0
        ch_parent.send("go", pid=st.pid)
        manager.add(st.pid)
        ch_parent.send("cgroup_ok")
        msg = ch_parent.recv()
        if msg is not None and msg["type"] == "hooks":
            from berth.runtime.hooks import run_hooks

            state_doc = st.oci("created")
            run_hooks("prestart", hooks.get("prestart") or [], state_doc)
            run_hooks("createRuntime", hooks.get("createRuntime") or [], state_doc)
            ch_parent.send("hooks_done")
            msg = ch_parent.recv()
        if msg is None or msg["type"] != "ready":
            raise Internal(f"create {container_id}: the container's init exited before it was ready")
        st.created = now_rfc3339()
        store.save(st)
        if opts.pid_file:
            _write_pid_file(opts.pid_file, st.pid)
        return st
    except BaseException as exc:
        for p in child_pids:
            try:
                os.kill(p, 9)
            except OSError:
                pass
        for p in child_pids:
            _reap_quietly(p)
        if manager is not None:
            try:
                manager.destroy()
            except BerthError:
                pass
        store.remove(container_id)
        if isinstance(exc, ChildError):
            raise exc.as_berth() from None
        raise
    finally:
        if ch_parent is not None:
            ch_parent.close()
        if ch_child is not None:
            ch_child.close()


def _confinement(store: Store, spec: dict[str, Any], process: dict[str, Any], warnings: list[str]) -> Any:
    """Check capabilities and compile seccomp in the parent, so that a bad name fails
    before anything is forked and the child only loads a finished BPF program (compiled
    programs are cached under the state root: libseccomp takes ~15 ms for Docker's
    profile, loading a cached one ~1 ms)."""
    caps = process.get("capabilities")
    if caps is not None:
        from berth.linux import caps as caps_mod

        warnings.extend(caps_mod.validate(caps).warnings)
    sec = (spec.get("linux") or {}).get("seccomp")
    if not sec:
        return None
    from berth.linux import seccomp as seccomp_mod

    prog: Any = seccomp_mod.program(sec, cache_dir=os.path.join(store.root, ".cache", "seccomp"))
    return prog


def _exit_text(pid: int) -> str:
    try:
        _, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return ""
    if os.WIFEXITED(status):
        return f" (exit status {os.WEXITSTATUS(status)})"
    if os.WIFSIGNALED(status):
        return f" (killed by signal {os.WTERMSIG(status)})"
    return ""


def _reap_quietly(pid: int) -> None:
    for _ in range(200):
        try:
            r, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if r:
            return
        time.sleep(0.005)


def _write_pid_file(path: str, pid: int) -> None:
    from berth.linux.fs import atomic_write

    try:
        atomic_write(os.path.abspath(path), str(pid), 0o644)
    except OSError as exc:
        raise InvalidArgument(f"write pid file {path!r}: {os.strerror(exc.errno or 0).lower()}") from exc


# -- start, state, kill, delete ---------------------------------------------------------------


def start(store: Store, container_id: str) -> list[str]:
    """Let the init exec the user's program; returns poststart warnings."""
    st = store.load(container_id)
    s = store.status(st)
    if not Status.can_start(s):
        raise Status.refuse("start", container_id, s)
    fifo = store.fifo(container_id)
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise Conflict("cannot start an already running container") from None
    try:
        import select

        p = select.poll()
        p.register(fd, select.POLLIN)
        deadline = time.monotonic() + 30
        while True:
            if p.poll(50):
                data = os.read(fd, 1)
                if data:
                    break
            if procfs.process_state(st.pid, st.start_time) in (None, "Z"):
                raise FailedPrecondition(f"cannot start container {container_id}: its init process exited")
            if time.monotonic() > deadline:
                raise Internal(f"start {container_id}: the init did not answer on exec.fifo")
    finally:
        os.close(fd)
    try:
        os.unlink(fifo)
    except FileNotFoundError:
        pass
    hooks = (st.config.get("hooks") or {}).get("poststart")
    if hooks:
        from berth.runtime.hooks import run_hooks

        return run_hooks("poststart", hooks, st.oci(RUNNING))
    return []


def state(store: Store, container_id: str) -> dict[str, Any]:
    st = store.load(container_id)
    return st.oci(status_of(store, st))


def kill(store: Store, container_id: str, sig: int, all_: bool = False) -> None:
    st = store.load(container_id)
    s = store.status(st)
    if not Status.can_kill(s):
        raise Status.refuse("kill", container_id, s)
    if all_:
        m = _cgroup_manager(st)
        pids = m.pids() if m else [st.pid]
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        if sig == 9 and m is not None and m.frozen():
            m.thaw()
        return
    try:
        os.kill(st.pid, sig)
    except ProcessLookupError:
        raise Conflict("container not running") from None


def delete(store: Store, container_id: str, force: bool = False) -> list[str]:
    """Remove a stopped (or, with force, any) container; returns poststop warnings."""
    try:
        st = store.load(container_id)
    except NotFound:
        if force:
            store.remove(container_id)
            return []
        raise
    s = status_of(store, st)
    if not Status.can_delete(s, force):
        raise Status.refuse("delete", container_id, s)
    m = _cgroup_manager(st)
    own_pidns = any(n.get("type") == "pid" and not n.get("path") for n in (st.config.get("linux") or {}).get("namespaces", []))
    if s != STOPPED:
        victims = [st.pid]
        if m is not None and not own_pidns:
            victims = m.pids() or victims
        for p in victims:
            try:
                os.kill(p, 9)
            except ProcessLookupError:
                pass
        if m is not None and s == PAUSED:
            m.thaw()
        _wait_gone(st)
    if m is not None and not own_pidns:
        # Without a pid namespace of its own, the init's death takes nothing else with it:
        # what is still in the cgroup (execs, their children) goes now, as runc does, or
        # the cgroup could not be removed.
        _kill_cgroup(m)
    if m is not None:
        m.destroy()
    store.remove(container_id)
    hooks = (st.config.get("hooks") or {}).get("poststop")
    if hooks:
        from berth.runtime.hooks import run_hooks

        return run_hooks("poststop", hooks, st.oci(STOPPED))
    return []


def _kill_cgroup(m: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (pids := m.pids()) and time.monotonic() < deadline:
        for p in pids:
            try:
                os.kill(p, 9)
            except ProcessLookupError:
                pass
        time.sleep(0.005)


def _wait_gone(st: State, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = procfs.process_state(st.pid, st.start_time)
        if s is None or s == "Z":
            try:
                os.waitpid(st.pid, os.WNOHANG)  # ours when we are its (sub)reaper
            except ChildProcessError:
                pass
            return
        time.sleep(0.002)
    raise Internal(f"container {st.id}: init {st.pid} did not die after SIGKILL")


def list_states(store: Store) -> list[dict[str, Any]]:
    out = []
    for cid in store.ids():
        try:
            st = store.load(cid)
        except NotFound:
            continue
        out.append(st.oci(status_of(store, st)))
    return out


def ps(store: Store, container_id: str) -> list[int]:
    st = store.load(container_id)
    m = _cgroup_manager(st)
    if m is None:
        return [st.pid] if store.status(st) != STOPPED else []
    return sorted(m.pids())


def pause(store: Store, container_id: str) -> None:
    st = store.load(container_id)
    s = status_of(store, st)
    if not Status.can_pause(s):
        raise Status.refuse("pause", container_id, s) if s != STOPPED else Conflict("container not running")
    m = _cgroup_manager(st)
    if m is None:
        raise FailedPrecondition(f"container {container_id} has no cgroup to freeze")
    m.freeze()


def resume(store: Store, container_id: str) -> None:
    st = store.load(container_id)
    s = status_of(store, st)
    if not Status.can_resume(s):
        raise Status.refuse("resume", container_id, s)
    m = _cgroup_manager(st)
    m.thaw()


# -- exec ----------------------------------------------------------------------------------


class ExecOptions:
    __slots__ = ("console_fd", "console_socket", "detach", "pid_file", "preserve_fds")

    def __init__(self) -> None:
        self.detach = False
        self.pid_file = ""
        self.console_socket = ""
        self.console_fd = -1
        self.preserve_fds = 0


def exec_process(
    store: Store, container_id: str, process: dict[str, Any], opts: ExecOptions, sc: Syscalls | None = None
) -> int:
    """Start ``process`` inside the container. Returns its pid (detach) after it is about
    to exec; the caller waits for it otherwise (we are its subreaper)."""
    from berth.linux import syscalls as S
    from berth.runtime import config as C
    from berth.runtime.messages import Channel, ChildError
    from berth.runtime.namespaces import Plan

    st = store.load(container_id)
    s = status_of(store, st)
    if not Status.can_exec(s):
        raise Status.refuse("exec", container_id, s) if s == STOPPED else Conflict(f"cannot exec in a {s} container")
    C._validate_process(process)
    if process.get("terminal") and not opts.console_socket and opts.console_fd < 0:
        raise InvalidArgument("process.terminal is true: --console-socket is required")
    sc = sc or S.default()
    spec = dict(st.config)
    plan = Plan.for_exec(st.pid, spec)
    from berth.runtime.init import InitContext, preload, stage1

    preload(spec, process)
    ctx = InitContext(spec, process)
    ctx.exec_mode = True
    ctx.seccomp = _confinement(store, spec, process, [])
    ctx.container_id = container_id
    ctx.preserve_fds = opts.preserve_fds
    ctx.console_fd = _connect_console(opts.console_socket) if opts.console_socket else opts.console_fd
    if not opts.detach:
        sc.prctl(S.PR_SET_CHILD_SUBREAPER, 1)
    ch_parent, ch_child = Channel.pair()
    m = _cgroup_manager(st)
    pid1 = os.fork()
    if pid1 == 0:
        ch_parent.close()
        stage1(sc, ch_child, ctx, plan)
    ch_child.close()
    pid = 0
    try:
        if m is not None:
            m.add(pid1)
        ch_parent.send("go")
        msg = ch_parent.expect("pid", f"exec in {container_id}")
        pid = int(msg["pid"])
        os.waitpid(pid1, 0)
        ch_parent.send("go")
        ch_parent.expect("ready", f"exec in {container_id}")
    except BaseException as exc:
        for p in (pid1, pid):
            if p:
                try:
                    os.kill(p, 9)
                except OSError:
                    pass
                _reap_quietly(p)
        if isinstance(exc, ChildError):
            raise exc.as_berth() from None
        raise
    finally:
        ch_parent.close()
        if opts.console_socket and ctx.console_fd >= 0:
            os.close(ctx.console_fd)
    if opts.pid_file:
        _write_pid_file(opts.pid_file, pid)
    return pid


def wait_forwarding(pid: int) -> int:
    """Wait for ``pid`` (our child or, as subreaper, grandchild) forwarding the signals a
    terminal would send; return a shell-style exit code."""
    import signal

    def fwd(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sg in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH):
        signal.signal(sg, fwd)
    while True:
        try:
            r, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 255
        if r == pid:
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status)
            return os.WEXITSTATUS(status)
