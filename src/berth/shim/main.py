"""berth-shim's process: command line, detaching, and the poll loop (see the package
docstring for the control protocol).

Lean by design, since every running container pays for it: no asyncio, json, re, typing,
signal (it imports enum) or socket (likewise); ``_signal``, ``_socket``, ``select.poll``,
:mod:`berth.oci.fastjson` and :mod:`berth.logs.jsonfile` only. ``ctypes`` is imported once
for prctl(PR_SET_CHILD_SUBREAPER) (prctl(2)), in the short-lived process that then
execs the shim proper (the flag survives execve).

Usage::

    berth-shim --id ID --bundle DIR --state-dir DIR --runtime BIN [--runtime-root DIR]
               [--log-path FILE] [--log-opt k=v]... [--tty] [--stdin] [--stdin-once]
               [--linger SECONDS]
    berth-shim --exec-id EID --process FILE --id ID --state-dir DIR --runtime BIN
               [--runtime-root DIR] [--tty] [--stdin] [--stdin-once] [--linger SECONDS]

The second form is exec mode: one short-lived shim per process exec'd in a running
container (``docker exec``), see the package docstring.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal imports enum
import _socket
import os
import select
import sys
import time

from berth.logs.jsonfile import LineSplitter, Options, Writer
from berth.oci import fastjson

__all__ = ["Config", "main"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_USAGE = (
    "usage: berth-shim --id ID --bundle DIR --state-dir DIR --runtime BIN [--runtime-root DIR] "
    "[--log-path FILE] [--log-opt k=v]... [--tty] [--stdin] [--stdin-once] [--linger SECONDS]\n"
    "       berth-shim --exec-id EID --process FILE --id ID --state-dir DIR --runtime BIN "
    "[--runtime-root DIR] [--tty] [--stdin] [--stdin-once] [--linger SECONDS]"
)
_POLLIN = select.POLLIN | select.POLLHUP | select.POLLERR
_DRAIN_GRACE = 2.0  # seconds to wait for output EOF after the init died (others may hold it)
_EXEC_BUFFER = 1 << 20  # exec output kept for the first attach; more is dropped


class Config:
    __slots__ = (
        "bundle",
        "exec_id",
        "id",
        "linger",
        "log_opts",
        "log_path",
        "process",
        "runtime",
        "runtime_root",
        "state_dir",
        "stdin",
        "stdin_once",
        "tty",
    )

    def __init__(self) -> None:
        self.id = ""
        self.bundle = ""
        self.exec_id = ""
        self.process = ""
        self.state_dir = ""
        self.runtime = ""
        self.runtime_root = "/run/berth/runtime"
        self.log_path = ""
        self.log_opts: dict[str, str] = {}
        self.tty = False
        self.stdin = False
        self.stdin_once = False
        self.linger = -1.0

    @classmethod
    def parse(cls, argv: list[str]) -> Config:
        c = cls()
        flags = {"--tty": "tty", "--stdin": "stdin", "--stdin-once": "stdin_once"}
        values = {
            "--id": "id",
            "--bundle": "bundle",
            "--state-dir": "state_dir",
            "--runtime": "runtime",
            "--runtime-root": "runtime_root",
            "--log-path": "log_path",
            "--exec-id": "exec_id",
            "--process": "process",
        }
        i = 0
        while i < len(argv):
            a = argv[i]
            name, eq, val = a.partition("=")
            if a in flags:
                setattr(c, flags[a], True)
                i += 1
                continue
            if name in values or name in ("--log-opt", "--linger"):
                if not eq:
                    if i + 1 >= len(argv):
                        raise ValueError(f"flag needs an argument: {name}")
                    val = argv[i + 1]
                    i += 1
                i += 1
                if name == "--log-opt":
                    k, _, v = val.partition("=")
                    c.log_opts[k] = v
                elif name == "--linger":
                    c.linger = float(val)
                else:
                    setattr(c, values[name], val)
                continue
            raise ValueError(f"unknown argument: {a}")
        if c.exec_id or c.process:
            required: tuple[str, ...] = ("exec_id", "process", "id", "state_dir", "runtime")
            for name, bad in (("--bundle", c.bundle), ("--log-path", c.log_path),
                              ("--log-opt", c.log_opts)):  # fmt: skip
                if bad:
                    raise ValueError(f"{name} does not go with --exec-id")
        else:
            required = ("id", "bundle", "state_dir", "runtime")
        for req in required:
            if not getattr(c, req):
                raise ValueError(f"missing --{req.replace('_', '-')}")
        if c.stdin_once:
            c.stdin = True
        return c


_SERVE_ENV = "_BERTH_SHIM_READY_FD"


_STANDBY_ENV = "_BERTH_SHIM_STANDBY_FD"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ready = os.environ.pop(_SERVE_ENV, "")
    standby = os.environ.pop(_STANDBY_ENV, "")
    if ready and standby:
        # A standby shim (berth.shim.client.ShimPool): started ahead of need, it waits for
        # its command line (a JSON list) on this pipe; EOF without one means not needed.
        fd = int(standby)
        data = b""
        while chunk := os.read(fd, 65536):
            data += chunk
        os.close(fd)
        if not data:
            return 0
        real: list[str] = fastjson.loads(data)
        _retitle([sys.orig_argv[0], *sys.orig_argv[1:3], *real])
        return _serve(real, int(ready))
    if ready:
        return _serve(args, int(ready))
    if args and args[0] in ("-h", "--help"):
        print(_USAGE)
        return 0
    try:
        cfg = Config.parse(args)
        Options.parse(cfg.log_opts)  # checked here: a bad --log-opt is a usage error
    except Exception as exc:  # ValueError from the flags, InvalidArgument from --log-opt
        sys.stderr.write(f"berth-shim: {exc}\n{_USAGE}\n")
        return 2
    os.makedirs(cfg.state_dir, 0o711, exist_ok=True)
    r, w = os.pipe()
    pid = os.fork()
    if pid:
        # The caller's side: wait for "ok <pid>" or "error <msg>" from the detached shim.
        os.close(w)
        data = b""
        while chunk := os.read(r, 4096):
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        if data.startswith(b"ok "):
            sys.stdout.write(data[3:].decode().strip() + "\n")
            return 0
        # "error MSG\n" and, when the runtime refused, "runtime ITS-MESSAGE\n": the
        # second line goes out as is, for the daemon to quote (Docker's "OCI runtime
        # exec failed: …") and to tell 126 from 127.
        lines = data.decode("utf-8", "replace").splitlines()
        msg = lines[0][6:].strip() if lines and lines[0].startswith("error ") else "shim died"
        sys.stderr.write(f"berth-shim: {msg}\n")
        for ln in lines[1:]:
            if ln.startswith("runtime "):
                sys.stderr.write(f"runtime: {ln[8:]}\n")
        return 1
    # Intermediate: a new session, then fork again so the shim is no session leader (it
    # can never reacquire a controlling terminal) and is reparented away from the caller.
    os.close(r)
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        # The subreaper flag survives execve(2) (prctl(2)): set it here, then exec a
        # fresh interpreter for the long-lived shim, which so never carries ctypes.
        _become_subreaper()
        os.set_inheritable(w, True)
        os.environ[_SERVE_ENV] = str(w)
        os.execv(sys.executable, sys.orig_argv)
    except BaseException as exc:
        try:
            os.write(w, f"error {exc}\n".encode())
        except OSError:
            pass
    os._exit(1)


def _retitle(argv: list[str]) -> None:
    """Show ``argv`` as this process's command line (``ps``, /proc/PID/cmdline), as if it
    had been started with it: a standby shim gets its arguments down a pipe, yet operators
    and cleanup tools find a container's shim by its ``--id``/``--state-dir``. The kernel
    reads the command line from the process's argument area ([arg_start, arg_end) in
    /proc/self/stat, proc(5)); the standby was started with a padding argument to make room,
    and the area is rewritten in place through /proc/self/mem — setproctitle's technique."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end: fields 48, 49
        data = b"\0".join(a.encode() for a in argv)[: end - start - 1]
        with open("/proc/self/mem", "r+b", buffering=0) as m:
            m.seek(start)
            m.write(data + b"\0" * (end - start - len(data)))
    except (OSError, ValueError, IndexError):
        pass  # cosmetic: never fail a start over it


def _serve(args: list[str], ready_fd: int) -> int:
    os.set_inheritable(ready_fd, False)
    code = 1
    try:
        cfg = Config.parse(args)
        os.makedirs(cfg.state_dir, 0o711, exist_ok=True)  # a direct launch skips main()'s
        code = Shim(cfg, Options.parse(cfg.log_opts), ready_fd).run()
    except BaseException as exc:
        report = f"error {exc}\n"
        if isinstance(exc, ShimError) and exc.detail:
            report += f"runtime {exc.detail}\n"
        try:
            os.write(ready_fd, report.encode())
        except OSError:
            pass
        try:
            os.write(2, f"berth-shim: {exc!r}\n".encode())
        except OSError:
            pass
        _reap_children(2.0)
    return code


def _reap_children(timeout: float) -> None:
    """Reap what a failed launch left us as subreaper (a ``runtime exec --detach`` whose
    process could not exec leaves it to us). Unreaped, such a zombie would go on to our own
    subreaper and, sitting in the container's pid namespace, keep the container's init
    from ever finishing its exit (the kernel waits for every process of the namespace to
    be reaped)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.005)


def _noop(signum: int, frame: object) -> None:
    pass


# berth-runtime beside this Python: run in a forked child of the shim instead of a fresh
# interpreter (see _spawn). BERTH_SHIM_EXEC_RUNTIME=1 turns that off.
_OWN_RUNTIME = os.path.join(os.path.dirname(sys.executable), "berth-runtime")
_IN_PROCESS = os.environ.get("BERTH_SHIM_EXEC_RUNTIME", "") != "1"


def _spawn(argv: list[str], fds: tuple[int, int, int]) -> int:
    """Run ``argv`` with ``fds`` as its stdio; its pid.

    When ``argv`` is berth's own runtime, the child does not exec it: the fork already is
    a Python interpreter with berth on its path, so it calls the runtime's ``main``
    directly and saves a whole interpreter start (~7 ms) on each of create, start and
    delete — on the path of every ``run``. The shim stays lean: the runtime's modules are
    imported in the child only. What exec would have reset is reset by hand: signal
    dispositions, the shim's descriptors (none may leak into the container), Python's
    buffered stdio objects."""
    pid = os.fork()
    if pid == 0:
        code = 127
        try:
            # Python ignores SIGPIPE; an ignored signal survives exec into the container.
            for sig in (_signal.SIGPIPE, _signal.SIGCHLD, _signal.SIGINT, _signal.SIGHUP,
                        _signal.SIGQUIT, _signal.SIGTERM):  # fmt: skip
                _signal.signal(sig, _signal.SIG_DFL)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            if _IN_PROCESS and argv[0] == _OWN_RUNTIME:
                os.closerange(3, 1 << 16)
                import io

                sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
                sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
                sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
                sys.argv = list(argv)
                # run the launcher script itself, as exec would have, minus the new interpreter
                with open(argv[0], "rb") as f:
                    program = compile(f.read(), argv[0], "exec")
                try:
                    exec(program, {"__name__": "__main__", "__file__": argv[0]})
                    code = 0
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
            else:
                os.execv(argv[0], argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            code = 127 if argv[0] != _OWN_RUNTIME else 1
        finally:
            os._exit(code)
    return pid


def _status_code(status: int) -> tuple[int, int]:
    """(shell-style exit code, signal or 0) of a wait status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return 128 + sig, sig
    return os.WEXITSTATUS(status), 0


def _now_ns() -> int:
    return time.time_ns()


def _format_time(ns: int) -> str:
    from berth.logs.timefmt import format_nano

    return format_nano(ns)


def _atomic_write(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)
    dfd = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _oom_killed(cgroup_lines: list[str]) -> bool:
    """Whether the container's memory cgroup counted an OOM kill (v2 memory.events,
    v1 memory.oom_control)."""
    for line in cgroup_lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, ctrls, path = parts
        if ctrls == "":
            f, key = f"/sys/fs/cgroup{path}/memory.events", "oom_kill"
        elif "memory" in ctrls.split(","):
            f, key = f"/sys/fs/cgroup/memory{path}/memory.oom_control", "oom_kill"
        else:
            continue
        try:
            with open(f) as fh:
                for ln in fh:
                    k, _, v = ln.partition(" ")
                    if k == key and int(v) > 0:
                        return True
        except (OSError, ValueError):
            pass
    return False


def _become_subreaper() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


class ShimError(Exception):
    """A refused request: ``kind`` is the errdefs category, ``detail`` the runtime's own
    message when the runtime refused."""

    def __init__(self, kind: str, msg: str, detail: str = "") -> None:
        super().__init__(msg)
        self.kind = kind
        self.detail = detail


class Client:
    __slots__ = ("attach", "buf", "fd", "reading", "sock", "stdin")

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.buf = b""
        self.attach = False
        self.stdin = False
        self.reading = True


class Shim:
    def __init__(self, cfg: Config, opts: Options, ready_fd: int) -> None:
        self.cfg = cfg
        self.opts = opts
        self.ready_fd = ready_fd
        self.sd = cfg.state_dir
        self.poll = select.poll()
        self.clients: dict[int, Client] = {}
        self.outputs: dict[int, tuple[str, LineSplitter]] = {}  # fd → (stream, splitter)
        self.stdin_w = -1
        self.master = -1
        self.stdin_buf = b""  # attach input the process has not taken yet
        self.stdin_eof = False  # close stdin once stdin_buf is written
        self.stdin_polling = False
        self.paused: list[Client] = []  # attach clients not read while stdin_buf is full
        self.init_pid = 0
        self.status = "creating"
        self.exit: dict[str, Any] | None = None
        self.exited_at = 0.0
        self.waiters: list[Client] = []
        self.cgroup: list[str] = []
        self.log: Writer | None = None
        self.done = False  # exited and output drained
        self.quit = False
        self.exec_mode = bool(cfg.exec_id)
        self.what = "exec" if self.exec_mode else "create"  # the runtime verb that launches
        self.name = f"exec '{cfg.exec_id}'" if self.exec_mode else f"container '{cfg.id}'"
        # Exec output is kept until the first attach (Docker's client attaches only after
        # the exec has started); None once it has been handed over, and in init mode.
        self.pending: list[bytes] | None = [] if self.exec_mode else None
        self.pending_size = 0

    # --- set-up ---------------------------------------------------------------

    def run(self) -> int:
        cfg = self.cfg
        os.chdir("/")
        null = os.open("/dev/null", os.O_RDWR)
        errf = os.open(
            os.path.join(self.sd, "shim.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(errf, 2)
        os.close(errf)
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        _signal.set_wakeup_fd(wake_w)
        _signal.signal(_signal.SIGCHLD, _noop)
        for s in (_signal.SIGINT, _signal.SIGHUP, _signal.SIGQUIT):
            _signal.signal(s, _signal.SIG_IGN)
        if cfg.log_path:
            self.log = Writer(cfg.log_path, self.opts)
        self.sock_path = os.path.join(self.sd, "shim.sock")
        try:
            os.unlink(self.sock_path)
        except FileNotFoundError:
            pass
        self.listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        self.listener.bind(self.sock_path)
        os.chmod(self.sock_path, 0o600)
        self.listener.listen(16)
        self.listener.setblocking(False)
        try:
            self._launch(null)
        except BaseException:
            os.unlink(self.sock_path)  # the socket exists only while the shim lives
            raise
        os.close(null)
        self.poll.register(self.wake_r, select.POLLIN)
        self.poll.register(self.listener.fileno(), select.POLLIN)
        try:
            os.write(self.ready_fd, b"ok %d\n" % os.getpid())
        except OSError:
            pass  # whoever launched us is gone (berthd killed mid-start): serve all the same
        os.close(self.ready_fd)
        self.ready_fd = -1
        self._loop()
        return 0

    def _runtime(self, *args: str) -> list[str]:
        c = self.cfg
        log = os.path.join(self.sd, "runtime.log")
        return [c.runtime, "--root", c.runtime_root, "--log", log, "--log-format", "json", *args]

    def _runtime_error(self, what: str, code: int, stderr: bytes = b"") -> ShimError:
        """The runtime's failure, its own message (the last line of its stderr, else of
        its json log) kept as ``detail``."""
        msg = stderr.decode("utf-8", "replace").strip().splitlines()
        text = msg[-1] if msg else ""
        if not text:
            try:
                with open(os.path.join(self.sd, "runtime.log"), "rb") as f:
                    last = f.read().strip().splitlines()
                if last:
                    text = str(fastjson.loads(last[-1]).get("msg", ""))
            except (OSError, ValueError):
                pass
        return ShimError(
            "internal",
            f"{os.path.basename(self.cfg.runtime)} {what} '{self.cfg.id}': exit {code}: {text}",
            text,
        )

    def _launch(self, null: int) -> None:
        """Run the runtime's ``create`` (init mode) or ``exec --detach`` (exec mode) with
        the process's stdio (pipes, or a console socket to receive the pty master), and
        read the process's pid from the pid file once the runtime has returned: by then
        the exec'd process runs, reparented to us (the subreaper)."""
        cfg = self.cfg
        if self.exec_mode:
            self._check_process_file()
            pid_file = os.path.join(self.sd, "exec.pid")
            args = ["exec", "--process", cfg.process, "--detach", "--pid-file", pid_file]
        else:
            pid_file = os.path.join(self.sd, "init.pid")
            args = ["create", "--bundle", cfg.bundle, "--pid-file", pid_file]
        err_path = os.path.join(self.sd, f"{self.what}.err")
        close_after: list[int] = []
        console = None
        if cfg.tty:
            cpath = os.path.join(self.sd, "console.sock")
            try:
                os.unlink(cpath)
            except FileNotFoundError:
                pass
            console = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            console.bind(cpath)
            console.listen(1)
            args += ["--console-socket", cpath]
            errf = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            close_after.append(errf)
            fds = (null, null, errf)
        else:
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            close_after += [out_w, err_w]
            stdin_fd = null
            if cfg.stdin:
                in_r, self.stdin_w = os.pipe()
                os.set_blocking(self.stdin_w, False)
                close_after.append(in_r)
                stdin_fd = in_r
            fds = (stdin_fd, out_w, err_w)
            self._add_output(out_r, "stdout")
            self._add_output(err_r, "stderr")
        pid = _spawn(self._runtime(*args, cfg.id), fds)
        for fd in close_after:
            os.close(fd)
        if console is not None:
            try:
                self.master = self._receive_console(console, pid)
            finally:
                console.close()
                try:
                    os.unlink(os.path.join(self.sd, "console.sock"))
                except FileNotFoundError:
                    pass
            self._add_output(self.master, "stdout")
        _, st = os.waitpid(pid, 0)
        code, _ = _status_code(st)
        if code != 0:
            # Without a terminal the runtime's stderr is the process's: its message is
            # taken from the runtime's log.
            err = b""
            if cfg.tty:
                with open(err_path, "rb") as f:
                    err = f.read()
            raise self._runtime_error(self.what, code, err)
        with open(pid_file) as f:
            self.init_pid = int(f.read().strip())
        if self.exec_mode:
            self.status = "running"
            return
        try:
            with open(f"/proc/{self.init_pid}/cgroup") as f:
                self.cgroup = f.read().splitlines()
        except OSError:
            pass
        self.status = "created"

    def _receive_console(self, console: _socket.socket, pid: int) -> int:
        """Accept the runtime's connection on the console socket and take the pty master
        it sends (SCM_RIGHTS), while watching that create has not failed first."""
        p = select.poll()
        p.register(console.fileno(), select.POLLIN)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if p.poll(100):
                fd, _ = console._accept()  # type: ignore[attr-defined]
                conn = _socket.socket(fileno=fd)
                try:
                    conn.settimeout(10)
                    _, anc, _, _ = conn.recvmsg(1024, _socket.CMSG_SPACE(4))
                finally:
                    conn.close()
                for level, typ, data in anc:
                    if level == _socket.SOL_SOCKET and typ == _socket.SCM_RIGHTS and len(data) >= 4:
                        master = int.from_bytes(data[:4], sys.byteorder)
                        os.set_inheritable(master, False)
                        return master
                raise ShimError("internal", "console socket: no pty master received")
            r, st = os.waitpid(pid, os.WNOHANG)
            if r:
                code, _ = _status_code(st)
                with open(os.path.join(self.sd, f"{self.what}.err"), "rb") as f:
                    raise self._runtime_error(self.what, code, f.read())
        raise ShimError("internal", "console socket: timed out waiting for the pty master")

    def _check_process_file(self) -> None:
        """The exec's process.json is readable and agrees with --tty (a runtime given a
        terminal process needs the console socket, and one without sends no pty)."""
        path = self.cfg.process
        try:
            with open(path, "rb") as f:
                proc = fastjson.loads(f.read())
        except OSError as exc:
            raise ShimError("invalid", f"process file '{path}': {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ShimError("invalid", f"process file '{path}': malformed json: {exc}") from None
        if not isinstance(proc, dict):
            raise ShimError("invalid", f"process file '{path}': not a json object")
        if bool(proc.get("terminal")) != self.cfg.tty:
            said = "given" if self.cfg.tty else "not given"
            raise ShimError(
                "invalid",
                f"process file '{path}': terminal is {str(not self.cfg.tty).lower()}"
                f" but --tty is {said}",
            )

    def _add_output(self, fd: int, stream: str) -> None:
        self.outputs[fd] = (stream, LineSplitter())

    # --- the loop ---------------------------------------------------------------

    def _loop(self) -> None:
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.poll.register(fd, _POLLIN)
        while not self.quit:
            timeout = -1
            if self.exit is not None and not self.done:
                timeout = 100
            elif self.done and self.cfg.linger >= 0:
                left = self.exited_at + self.cfg.linger - time.monotonic()
                if left <= 0:
                    self._linger_expired()
                    break
                timeout = int(left * 1000) + 1
            for fd, ev in self.poll.poll(timeout):
                if ev & select.POLLOUT and fd == self._stdin_fd():
                    self._flush_stdin()
                    if fd not in self.outputs:
                        continue
                if fd == self.wake_r:
                    self._on_wake()
                elif fd == self.listener.fileno():
                    self._accept()
                elif fd in self.outputs:
                    self._on_output(fd)
                elif fd in self.clients:
                    self._on_client(self.clients[fd])
            if self.exit is not None and not self.done:
                if not self.outputs or time.monotonic() - self.exited_at > _DRAIN_GRACE:
                    self._finish()
        self._shutdown()

    def _on_wake(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            if pid == self.init_pid and self.exit is None:
                self._on_init_exit(st)

    def _on_init_exit(self, status: int) -> None:
        code, sig = _status_code(status)
        ns = _now_ns()
        self.exit = {
            "id": self.cfg.id,
            "pid": self.init_pid,
            "exit_code": code,
            "signal": sig or None,
            # The cgroup's OOM count is the container's: it says nothing about one exec.
            "oom_killed": False if self.exec_mode else _oom_killed(self.cgroup),
            "finished_at": _format_time(ns),
        }
        if self.exec_mode:
            self.exit["exec_id"] = self.cfg.exec_id
        # Durable before anything else: a daemon that died meanwhile reads this.
        _atomic_write(
            os.path.join(self.sd, "exit.json"), (fastjson.dumps(self.exit) + "\n").encode()
        )
        self.status = "stopped"
        self.exited_at = time.monotonic()

    def _on_output(self, fd: int) -> None:
        stream, splitter = self.outputs[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the pty's last holder closed it
            data = b""
        if not data:
            self._close_output(fd)
            return
        ns = _now_ns()
        if self.log is not None:
            for line in splitter.feed(data):
                self.log.write(stream, line, ns)
        if self.master >= 0:
            payload = data
        else:
            payload = (
                bytes((1 if stream == "stdout" else 2, 0, 0, 0))
                + len(data).to_bytes(4, "big")
                + data
            )
        if self.pending is not None:
            if self.pending_size + len(payload) <= _EXEC_BUFFER:
                self.pending.append(payload)
                self.pending_size += len(payload)
            return
        for c in list(self.clients.values()):
            if c.attach:
                self._send(c, payload)

    def _close_output(self, fd: int) -> None:
        stream, splitter = self.outputs.pop(fd)
        if self.log is not None:
            for line in splitter.flush():
                self.log.write(stream, line, _now_ns())
        self.poll.unregister(fd)
        if fd != self.master:
            os.close(fd)
        else:  # the terminal is gone: nobody will take pending input
            self.stdin_polling = False
            self.stdin_buf = b""

    def _finish(self) -> None:
        """Exit recorded and output drained (or the grace period over): end attaches and
        answer waiters."""
        for fd in list(self.outputs):
            self._close_output(fd)
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
            self.stdin_polling = False
        self._close_stdin(force=True)
        self.done = True
        for c in list(self.clients.values()):
            if c.attach:
                self._drop(c)
        for c in self.waiters:
            self._reply(c, {"ok": True, "exit": self.exit})
        self.waiters = []

    def _accept(self) -> None:
        try:
            fd, _ = self.listener._accept()  # type: ignore[attr-defined]
        except BlockingIOError:
            return
        sock = _socket.socket(fileno=fd)
        sock.settimeout(5)  # a client too slow to read its output is dropped, not waited for
        c = Client(sock)
        self.clients[c.fd] = c
        self.poll.register(c.fd, _POLLIN)

    def _on_client(self, c: Client) -> None:
        try:
            data = c.sock.recv(65536)
        except OSError:
            self._drop(c)
            return
        if c.attach:
            if data:
                self._write_stdin(data, c)
                return
            # Half-close (or close): no more stdin from this client; keep sending output.
            self.poll.unregister(c.fd)
            c.reading = False
            if c in self.paused:
                self.paused.remove(c)
            if c.stdin and self.cfg.stdin_once:
                self._close_stdin()
            return
        if not data:
            self._drop(c)
            return
        c.buf += data
        while b"\n" in c.buf and not c.attach and c.fd in self.clients:
            line, _, c.buf = c.buf.partition(b"\n")
            self._request(c, line)
        if c.attach and c.buf:
            rest, c.buf = c.buf, b""
            self._write_stdin(rest, c)

    def _stdin_fd(self) -> int:
        return self.master if self.master >= 0 else self.stdin_w

    def _write_stdin(self, data: bytes, c: Client) -> None:
        if self._stdin_fd() < 0 or self.stdin_eof:
            return
        self.stdin_buf += data
        self._flush_stdin()
        if len(self.stdin_buf) >= 1 << 20 and c.reading and c not in self.paused:
            # Backpressure: stop reading this client until the process takes its input.
            self.poll.modify(c.fd, 0)
            self.paused.append(c)

    def _flush_stdin(self) -> None:
        fd = self._stdin_fd()
        while self.stdin_buf and fd >= 0:
            try:
                n = os.write(fd, self.stdin_buf)
            except BlockingIOError:
                break
            except OSError:  # the process closed its stdin: what it never reads is lost
                self.stdin_buf = b""
                break
            self.stdin_buf = self.stdin_buf[n:]
        want = bool(self.stdin_buf) and fd >= 0
        if want != self.stdin_polling:
            self.stdin_polling = want
            if fd == self.master:
                self.poll.modify(fd, _POLLIN | (select.POLLOUT if want else 0))
            elif want:
                self.poll.register(fd, select.POLLOUT)
            else:
                self.poll.unregister(fd)
        if not self.stdin_buf:
            for p in self.paused:
                self.poll.modify(p.fd, _POLLIN)
            self.paused = []
            if self.stdin_eof:
                self._close_stdin(force=True)

    def _close_stdin(self, force: bool = False) -> None:
        if self.stdin_buf and not force:
            self.stdin_eof = True  # after the pending input
            return
        self.stdin_buf = b""
        if self.stdin_w >= 0:
            if self.stdin_polling:
                self.poll.unregister(self.stdin_w)
                self.stdin_polling = False
            os.close(self.stdin_w)
            self.stdin_w = -1

    def _send(self, c: Client, data: bytes) -> None:
        try:
            c.sock.sendall(data)
        except OSError:
            self._drop(c)

    def _reply(self, c: Client, msg: dict[str, Any]) -> None:
        self._send(c, (fastjson.dumps(msg) + "\n").encode())

    def _drop(self, c: Client) -> None:
        if self.clients.pop(c.fd, None) is None:
            return
        if c.reading:
            self.poll.unregister(c.fd)
        if c in self.waiters:
            self.waiters.remove(c)
        if c in self.paused:
            self.paused.remove(c)
        c.sock.close()

    # --- requests -----------------------------------------------------------------

    def _request(self, c: Client, line: bytes) -> None:
        try:
            req = fastjson.loads(line)
            if not isinstance(req, dict):
                raise ShimError("invalid", "request is not a json object")
            op = req.get("op")
            handler = getattr(self, f"_op_{op}", None) if isinstance(op, str) else None
            if handler is None:
                raise ShimError("invalid", f"unknown op {op!r}")
            handler(c, req)
        except ShimError as exc:
            self._reply(c, {"ok": False, "kind": exc.kind, "error": str(exc)})
        except ValueError as exc:
            self._reply(c, {"ok": False, "kind": "invalid", "error": f"bad request: {exc}"})
        except OSError as exc:
            self._reply(c, {"ok": False, "kind": "internal", "error": str(exc)})

    def _state(self) -> dict[str, Any]:
        st: dict[str, Any] = {
            "ok": True,
            "id": self.cfg.id,
            "status": self.status,
            "pid": self.init_pid,
            "tty": self.cfg.tty,
            "exit": self.exit,
        }
        if self.exec_mode:
            st["exec_id"] = self.cfg.exec_id
        return st

    def _op_state(self, c: Client, req: dict[str, Any]) -> None:
        self._reply(c, self._state())

    def _run_runtime(self, what: str, *args: str) -> None:
        r, w = os.pipe()
        null = os.open("/dev/null", os.O_RDWR)
        try:
            pid = _spawn(self._runtime(*args), (null, null, w))
        finally:
            os.close(w)
            os.close(null)
        err = b""
        while chunk := os.read(r, 65536):
            err += chunk
        os.close(r)
        _, st = os.waitpid(pid, 0)
        code, _ = _status_code(st)
        if code != 0:
            raise self._runtime_error(what, code, err)

    def _op_start(self, c: Client, req: dict[str, Any]) -> None:
        if self.status != "created":  # an exec never is: it starts at launch
            raise ShimError("conflict", f"{self.name} is {self.status}, not created")
        self._run_runtime("start", "start", self.cfg.id)
        if self.exit is None:
            self.status = "running"
        self._reply(c, self._state())

    def _op_kill(self, c: Client, req: dict[str, Any]) -> None:
        sig = req.get("signal", 15)
        if not isinstance(sig, int) or isinstance(sig, bool):
            raise ShimError("invalid", f"invalid signal {sig!r}")
        if self.exit is not None:
            raise ShimError("conflict", f"{self.name} is not running")
        if self.exec_mode:
            # `runtime kill` signals the init; the exec'd process is our child (unreaped,
            # so its pid cannot have been reused).
            os.kill(self.init_pid, sig)
            self._reply(c, {"ok": True})
            return
        extra = ["--all"] if req.get("all") else []
        self._run_runtime("kill", "kill", *extra, self.cfg.id, str(sig))
        self._reply(c, {"ok": True})

    def _op_resize(self, c: Client, req: dict[str, Any]) -> None:
        h, w = req.get("height"), req.get("width")
        if (
            not isinstance(h, int)
            or not isinstance(w, int)
            or not (0 <= h < 65536 and 0 <= w < 65536)
        ):
            raise ShimError("invalid", f"invalid size {h!r}x{w!r}")
        if self.master < 0:
            raise ShimError("conflict", f"{self.name} has no terminal")
        import fcntl
        import termios

        bo = sys.byteorder
        ws = h.to_bytes(2, bo) + w.to_bytes(2, bo) + bytes(4)  # struct winsize
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, ws)
        self._reply(c, {"ok": True})

    def _op_wait(self, c: Client, req: dict[str, Any]) -> None:
        if self.done:
            self._reply(c, {"ok": True, "exit": self.exit})
        else:
            self.waiters.append(c)

    def _op_attach(self, c: Client, req: dict[str, Any]) -> None:
        c.stdin = bool(req.get("stdin"))
        self._reply(c, {"ok": True, "tty": self.cfg.tty})
        if self.pending is not None:
            buffered, self.pending = b"".join(self.pending), None
            if buffered:
                self._send(c, buffered)
            if c.fd not in self.clients:  # the send failed
                return
        if self.done:
            self._drop(c)
            return
        c.attach = True

    def _op_delete(self, c: Client, req: dict[str, Any]) -> None:
        force = bool(req.get("force"))
        if self.exit is None and self.status != "created" and not force:
            raise ShimError("conflict", f"{self.name} is {self.status}: stop it or force")
        if self.exec_mode:  # nothing of the runtime's to delete: kill (if forced) and go
            if self.exit is None:
                try:
                    os.kill(self.init_pid, _signal.SIGKILL)
                except ProcessLookupError:
                    pass
        elif req.get("runtime") is False and self.exit is not None:
            pass  # the caller deletes the runtime's container itself (berthd, in-process)
        else:
            self._run_runtime("delete", "delete", *(["--force"] if force else []), self.cfg.id)
        if self.exit is None:
            # The runtime killed the init (forced, or never started): collect it so
            # exit.json is written.
            deadline = time.monotonic() + 10
            while self.exit is None and time.monotonic() < deadline:
                self._on_wake()
                if self.exit is None:
                    time.sleep(0.01)
        self.status = "deleted"
        self._reply(c, {"ok": True, "exit": self.exit})
        self.quit = True

    def _linger_expired(self) -> None:
        if self.exec_mode:
            return
        try:
            self._run_runtime("delete", "delete", self.cfg.id)
        except ShimError as exc:
            os.write(2, f"berth-shim: {exc}\n".encode())

    def _shutdown(self) -> None:
        if self.exit is not None and not self.done:
            self._finish()
        for c in list(self.clients.values()):
            self._drop(c)
        try:
            os.unlink(self.sock_path)
        except FileNotFoundError:
            pass
        self.listener.close()
        if self.log is not None:
            self.log.close()


if __name__ == "__main__":
    sys.exit(main())
