"""The child's side of ``create`` and ``exec``: everything after fork, before execve.

``create`` forks **stage 1**, which enters the namespaces (user first; the parent writes
its maps) and forks **stage 2**, the container's init — PID 1 when a pid namespace was
made — then exits. Stage 2 prepares the root filesystem, asks the parent to run the
runtime-side hooks, pivots, sets hostname, sysctls, console, limits and credentials,
reports ``ready`` and blocks opening ``exec.fifo`` until ``start``. ``exec`` is the same
with namespaces joined instead of made and no rootfs work.

Credentials follow runc's finalizeNamespace, the order the kernel requires:
no_new_privs → seccomp (only when no_new_privs is off: loading then needs CAP_SYS_ADMIN,
so before capabilities go) → drop the bounding set → keep capabilities across setuid →
groups, gid, uid → the final capability sets and ambient ones → (start) → seccomp (when
no_new_privs is on, as the very last step, so the runtime's own calls are not filtered).

Nothing here prints: errors go to the parent over :class:`~.messages.Channel`; once
``ready`` was sent there is no parent to tell, so an execve failure is written to the
container's stderr and the process exits 126/127 as a shell would.
"""

from __future__ import annotations

import errno
import os

from berth.errdefs import InvalidArgument, NotFound, PermissionDenied
from berth.linux import syscalls as S
from berth.runtime import rootfs as R

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from berth.linux.syscalls import Syscalls
    from berth.runtime.messages import Channel
    from berth.runtime.namespaces import Plan

__all__ = ["InitContext", "lookup_executable", "preload", "stage1"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CLOSE_RANGE_CLOEXEC = 4


class InitContext:
    """What the child needs besides the spec; filled by the parent before fork."""

    __slots__ = (
        "bundle",
        "cgroup_paths",
        "console_fd",
        "container_id",
        "exec_mode",
        "host_pid",
        "no_new_keyring",
        "no_pivot",
        "preserve_fds",
        "process",
        "rootfs",
        "run_parent_hooks",
        "seccomp",
        "spec",
        "state_dir",
        "state_dir_fd",
    )

    def __init__(self, spec: dict[str, Any], process: dict[str, Any]) -> None:
        self.spec = spec
        self.process = process
        self.bundle = ""
        self.rootfs = ""
        self.state_dir = ""
        self.state_dir_fd = -1  # opened by stage 1 while still the caller's user
        self.container_id = ""
        self.console_fd = -1
        self.preserve_fds = 0
        self.no_pivot = False
        self.no_new_keyring = False
        self.exec_mode = False
        self.host_pid = 0  # the init's pid as the runtime sees it (for hook state)
        self.run_parent_hooks = False
        self.cgroup_paths: dict[str, str] = {}
        self.seccomp: Any = None  # berth.linux.seccomp.Program, compiled by the parent


def preload(spec: dict[str, Any], process: dict[str, Any]) -> None:
    """Import, before fork, every module the child will need after pivot_root: from then
    on the host's Python library is out of reach (the container's root has none)."""
    if process.get("terminal"):
        import fcntl  # noqa: F401
        import socket  # noqa: F401
        import struct  # noqa: F401
        import termios  # noqa: F401
    if process.get("rlimits"):
        import resource  # noqa: F401
    if process.get("capabilities") is not None:
        from berth.linux import caps

        caps.last_cap()
    hooks = spec.get("hooks") or {}
    if hooks.get("createContainer") or hooks.get("startContainer"):
        import subprocess  # noqa: F401

        from berth.runtime import hooks as _hooks  # noqa: F401
    if ((spec.get("linux") or {}).get("personality") or {}).get("domain") == "LINUX32":
        import ctypes  # noqa: F401


def stage1(sc: Syscalls, ch: Channel, ctx: InitContext, plan: Plan) -> NoReturn:
    """Runs in the first child; never returns."""
    try:
        ch.expect("go", "stage 1")
        fds = plan.open_joins()
        if not ctx.exec_mode:
            # Opened before entering a user namespace: root mapped to another uid may not
            # be able to walk to the state root (a 0700 --root, as runc allows).
            ctx.state_dir_fd = os.open(ctx.state_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        if "user" in plan.join:
            ufd = next(fd for t, fd in fds if t == "user")
            sc.setns(ufd, S.CLONE_NEWUSER)
        elif plan.new_user:
            sc.unshare(S.CLONE_NEWUSER)
            ch.send("userns")
            ch.expect("go", "stage 1 (user namespace)")
        if plan.new_user or "user" in plan.join:
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        plan.enter(sc, fds, skip_user=True, defer_cgroup=not ctx.exec_mode)
        pid = os.fork()
        if pid == 0:
            stage2(sc, ch, ctx, plan)
        ch.send("pid", pid=pid)
        os._exit(0)
    except BaseException as exc:
        ch.send_error(exc)
        os._exit(1)


def stage2(sc: Syscalls, ch: Channel, ctx: InitContext, plan: Plan) -> NoReturn:
    """The container's init (or the exec'd process); never returns."""
    spec, proc = ctx.spec, ctx.process
    fifo_dir = -1
    try:
        ctx.host_pid = ch.expect("go", "init").get("pid", 0)
        os.setsid()
        userns = plan.new_user or "user" in plan.join
        if not ctx.exec_mode:
            if "oomScoreAdj" in proc:
                _write("/proc/self/oom_score_adj", str(proc["oomScoreAdj"]), "process.oomScoreAdj")
            R.prepare(
                sc, spec, ctx.rootfs, ctx.bundle, ctx.cgroup_paths,
                new_netns="network" in plan.new, new_ipcns="ipc" in plan.new, userns=userns,
            )  # fmt: skip
            ch.expect("cgroup_ok", "init (cgroups)")
            if "cgroup" in plan.new:
                sc.unshare(S.CLONE_NEWCGROUP)
            if ctx.run_parent_hooks:
                ch.send("hooks")
                ch.expect("hooks_done", "init (hooks)")
            hooks = (spec.get("hooks") or {}).get("createContainer")
            if hooks:
                from berth.runtime.hooks import run_hooks

                run_hooks("createContainer", hooks, _hook_state(ctx, "created"))
            fifo_dir = ctx.state_dir_fd
            R.pivot(sc, ctx.rootfs, ctx.no_pivot)
            R.root_propagation_after_pivot(sc, spec)
        if proc.get("terminal"):
            _setup_console(sc, ctx.console_fd, proc.get("consoleSize"), bind_console=not ctx.exec_mode)
        if not ctx.exec_mode:
            if spec.get("hostname"):
                sc.sethostname(spec["hostname"])
            if spec.get("domainname"):
                sc.setdomainname(spec["domainname"])
            for k, v in ((spec.get("linux") or {}).get("sysctl") or {}).items():
                _write("/proc/sys/" + k.replace(".", "/"), v, f"linux.sysctl.{k}")
            R.finalize(sc, spec)
            if not ctx.no_new_keyring:
                try:
                    sc.join_session_keyring(f"_ses.{ctx.container_id}"[:100])
                except OSError as exc:
                    if exc.errno not in (errno.ENOSYS, errno.EPERM, errno.EACCES):
                        raise
        _set_rlimits(proc.get("rlimits", []))
        pers = (spec.get("linux") or {}).get("personality")
        if pers and pers.get("domain") == "LINUX32":
            import ctypes

            ctypes.CDLL(None, use_errno=True).personality(0x0008)  # PER_LINUX32
        env = _environment(proc)
        nnp = bool(proc.get("noNewPrivileges"))
        if nnp:
            sc.prctl(S.PR_SET_NO_NEW_PRIVS, 1)
        filt = ctx.seccomp
        if filt is not None and not nnp:
            filt.load()
        _set_credentials(sc, proc, userns)
        _chdir(proc.get("cwd", "/"))
        path = lookup_executable(proc["args"][0], env)
        if ctx.exec_mode:
            ch.send("ready", pid=os.getpid())
            ch.close()
        else:
            ch.send("ready")
            ch.close()
            fd = os.open("exec.fifo", os.O_WRONLY | os.O_CLOEXEC, dir_fd=fifo_dir)
            os.write(fd, b"0")
            os.close(fd)
            os.close(fifo_dir)
            hooks = (spec.get("hooks") or {}).get("startContainer")
            if hooks:
                from berth.runtime.hooks import run_hooks

                run_hooks("startContainer", hooks, _hook_state(ctx, "running"))
        if filt is not None and nnp:
            filt.load()
        sc.close_range(3 + ctx.preserve_fds, 0xFFFFFFFF, CLOSE_RANGE_CLOEXEC)
        try:
            os.execve(path, proc["args"], env)
        except OSError as exc:
            _die_after_ready(proc["args"][0], exc)
    except BaseException as exc:
        try:
            ch.send_error(exc)
        except Exception:
            pass
        os._exit(1)
    os._exit(1)  # not reached


def _die_after_ready(arg0: str, exc: OSError) -> NoReturn:
    msg = f"berth-runtime: exec {arg0!r}: {os.strerror(exc.errno or 0).lower()}\n"
    try:
        os.write(2, msg.encode())
    finally:
        os._exit(127 if exc.errno == errno.ENOENT else 126)


def _hook_state(ctx: InitContext, status: str) -> dict[str, Any]:
    return {
        "ociVersion": "1.1.0",
        "id": ctx.container_id,
        "status": status,
        "pid": ctx.host_pid or os.getpid(),
        "bundle": ctx.bundle,
        "annotations": ctx.spec.get("annotations") or {},
    }


def _write(path: str, value: str, field: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(f"{field}: {path!r} does not exist in this kernel") from None
    except OSError as exc:
        raise PermissionDenied(f"{field}: open {path!r}: {os.strerror(exc.errno or 0).lower()}") from exc
    try:
        os.write(fd, value.encode())
    except OSError as exc:
        hint = ""
        if field == "process.oomScoreAdj" and exc.errno in (errno.EACCES, errno.EPERM):
            hint = " (lowering oom_score_adj needs CAP_SYS_RESOURCE)"
        raise PermissionDenied(f"{field}: write {value!r} to {path!r}: {os.strerror(exc.errno or 0).lower()}{hint}") from exc
    finally:
        os.close(fd)


def _set_rlimits(rlimits: list[dict[str, Any]]) -> None:
    if not rlimits:
        return
    import resource

    from berth.runtime.config import RLIMITS

    for r in rlimits:
        n = RLIMITS[r["type"]]
        try:
            resource.setrlimit(n, (r["soft"], r["hard"]))
        except (ValueError, OSError) as exc:
            cur = resource.getrlimit(n)[1]
            raise PermissionDenied(
                f"process.rlimits: set {r['type']} to soft {r['soft']} hard {r['hard']}: {exc}"
                f" (the caller's hard limit is {cur}; raising it needs CAP_SYS_RESOURCE)"
            ) from exc


def _environment(proc: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for e in proc.get("env", []):
        k, _, v = e.partition("=")
        env[k] = v
    if "HOME" not in env:
        env["HOME"] = _home_of(proc.get("user", {}).get("uid", 0))
    return env


def _home_of(uid: int) -> str:
    try:
        with open("/etc/passwd") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 6 and parts[2] == str(uid):
                    return parts[5] or "/"
    except OSError:
        pass
    return "/"


def _set_credentials(sc: Syscalls, proc: dict[str, Any], userns: bool) -> None:
    user = proc.get("user") or {}
    uid, gid = user.get("uid", 0), user.get("gid", 0)
    groups = user.get("additionalGids") or []
    spec_caps = proc.get("capabilities")
    c = None
    if spec_caps is not None:
        from berth.linux import caps as caps_mod

        c = caps_mod.validate(spec_caps)
        caps_mod.drop_bounding(c)
        caps_mod.set_keepcaps(True)
    try:
        if not userns or _setgroups_allowed():
            os.setgroups(groups)
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        raise PermissionDenied(
            f"process.user: switch to uid {uid} gid {gid}: {os.strerror(exc.errno or 0).lower()}"
        ) from exc
    if c is not None:
        caps_mod.set_keepcaps(False)
        caps_mod.apply(c)
    os.umask(user.get("umask", 0o022))


def _setgroups_allowed() -> bool:
    try:
        with open("/proc/self/setgroups") as f:
            return f.read().strip() == "allow"
    except OSError:
        return True


def _chdir(cwd: str) -> None:
    try:
        os.chdir(cwd)
    except OSError as exc:
        raise InvalidArgument(f"process.cwd: chdir to {cwd!r}: {os.strerror(exc.errno or 0).lower()}") from exc


def lookup_executable(arg0: str, env: dict[str, str]) -> str:
    """Find the program as execvp would, with the messages Docker maps to 127 / 126."""
    if "/" in arg0:
        candidates = [arg0]
    else:
        candidates = [os.path.join(d or ".", arg0) for d in env.get("PATH", DEFAULT_PATH).split(":")]
    denied = ""
    for c in candidates:
        try:
            st = os.stat(c)
        except OSError:
            continue
        if (st.st_mode & 0o170000) == 0o040000:
            denied = denied or c
            continue
        if os.access(c, os.X_OK):
            return c
        denied = denied or c
    if denied:
        raise PermissionDenied(f'exec: "{arg0}": permission denied')
    if "/" in arg0:
        raise NotFound(f'exec: "{arg0}": stat {arg0}: no such file or directory')
    raise NotFound(f'exec: "{arg0}": executable file not found in $PATH')


def _setup_console(sc: Syscalls, console_fd: int, size: dict[str, int] | None, bind_console: bool) -> None:
    """Make a pty in the container's devpts, make it our controlling terminal and stdio,
    and hand the master to whoever listens on the console socket (SCM_RIGHTS)."""
    import fcntl
    import socket
    import struct
    import termios

    if console_fd < 0:
        raise InvalidArgument("process.terminal: a terminal was requested but no --console-socket was given")
    master, slave = os.openpty()
    name = os.ttyname(slave)
    if size and (size.get("height") or size.get("width")):
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size.get("height", 0), size.get("width", 0), 0, 0))
    if bind_console:
        host = "/dev/console"
        if not os.path.exists(host):
            os.close(os.open(host, os.O_CREAT | os.O_WRONLY, 0o666))
        sc.mount(name, host, "bind", S.MS_BIND, None)
    sock = socket.socket(fileno=console_fd)
    try:
        sock.sendmsg([name.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", master))])
    finally:
        sock.close()
    os.close(master)
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)
