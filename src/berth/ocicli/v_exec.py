"""``exec [--process FILE | ARGS…] [--detach] [--pid-file F] [--console-socket SOCK]
[--tty] [--cwd DIR] [--env K=V]… [--user UID[:GID]] [--additional-gids G]…
[--cap CAP]… [--no-new-privs] [--preserve-fds N] ID``"""

from __future__ import annotations

from berth.ocicli.args import Flag, parse, usage
from berth.ocicli.main import need_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.ocicli.main import Context

FLAGS = [
    Flag("console-socket", "str", "", "path to an AF_UNIX socket which will receive the pty master"),
    Flag("cwd", "str", "", "current working directory in the container"),
    Flag("env,e", "list", help="set environment variables"),
    Flag("tty,t", help="allocate a pseudo-TTY"),
    Flag("user,u", "str", "", "UID (format: <uid>[:<gid>])"),
    Flag("additional-gids,g", "list", help="additional gids"),
    Flag("process,p", "str", "", "path to the process.json"),
    Flag("detach,d", help="detach from the container's process"),
    Flag("pid-file", "str", "", "specify the file to write the process id to"),
    Flag("process-label", "str", "", "set the asm process label for the process commonly used with selinux"),
    Flag("apparmor", "str", "", "set the apparmor profile for the process"),
    Flag("no-new-privs", help="set the no new privileges value for the process"),
    Flag("cap,c", "list", help="add a capability to the bounding set for the process"),
    Flag("preserve-fds", "int", 0, "pass N additional file descriptors to the container"),
    Flag("cgroup", "list", help="run the process in an (existing) sub-cgroup(s)"),
    Flag("ignore-paused", help="allow exec in a paused container"),
    Flag("help,h", help="show help"),
]


def build_process(base: dict[str, Any], opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    from berth.errdefs import InvalidArgument, NotFound
    from berth.oci import fastjson

    if opts["process"]:
        try:
            with open(opts["process"], "rb") as f:
                p: dict[str, Any] = fastjson.loads(f.read())
        except FileNotFoundError:
            raise NotFound(f"--process: open {opts['process']!r}: no such file or directory") from None
        except ValueError as exc:
            raise InvalidArgument(f"--process {opts['process']}: malformed JSON: {exc}") from exc
        return p
    if not args:
        raise InvalidArgument("exec: arguments to execute are required (or --process FILE)")
    p = {k: (list(v) if isinstance(v, list) else (dict(v) if isinstance(v, dict) else v)) for k, v in base.items()}
    p["args"] = args
    p["terminal"] = bool(opts["tty"])
    p.pop("consoleSize", None)
    if opts["cwd"]:
        p["cwd"] = opts["cwd"]
    p["env"] = list(base.get("env", [])) + opts["env"]
    if opts["user"]:
        uid, _, gid = opts["user"].partition(":")
        try:
            p["user"] = {"uid": int(uid), "gid": int(gid) if gid else 0}
        except ValueError:
            raise InvalidArgument(f"--user: {opts['user']!r} is not <uid>[:<gid>]") from None
    if opts["additional_gids"]:
        p.setdefault("user", {})["additionalGids"] = [int(g) for g in opts["additional_gids"]]
    if opts["cap"]:
        caps = {k: list(v) for k, v in (p.get("capabilities") or {}).items()}
        for c in opts["cap"]:
            for k in ("bounding", "effective", "permitted", "ambient"):
                if c not in caps.setdefault(k, []):
                    caps[k].append(c)
        p["capabilities"] = caps
    if opts["no_new_privs"]:
        p["noNewPrivileges"] = True
    if opts["apparmor"]:
        p["apparmorProfile"] = opts["apparmor"]
    return p


def run(ctx: Context, verb: str, args: list[str]) -> int:
    opts, rest = parse(args, FLAGS, verb)
    if opts["help"]:
        print(usage(verb, "[command options] <container-id> <command> [command options]", FLAGS), end="")
        return 0
    cid = need_id(verb, rest)
    from berth.linux import syscalls as S
    from berth.runtime.container import ExecOptions, exec_process, wait_forwarding

    store = ctx.store()
    st = store.load(cid)
    process = build_process(st.config.get("process") or {}, opts, rest[1:])
    eo = ExecOptions()
    eo.detach, eo.pid_file = bool(opts["detach"]), opts["pid_file"]
    eo.console_socket, eo.preserve_fds = opts["console_socket"], opts["preserve_fds"] or 0
    proxy = None
    if process.get("terminal") and not eo.console_socket:
        from berth.ocicli.tty import ConsoleProxy

        proxy = ConsoleProxy()
        eo.console_fd = proxy.child_fd
    if not eo.detach:
        S.default().prctl(S.PR_SET_CHILD_SUBREAPER, 1)
    pid = exec_process(store, cid, process, eo)
    if eo.detach:
        return 0
    if proxy is not None:
        proxy.receive()
        return proxy.copy_until_exit(pid)
    return wait_forwarding(pid)
