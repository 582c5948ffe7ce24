"""``run [--bundle DIR] [--detach] [--pid-file F] [--console-socket SOCK] [--keep]
[--no-pivot] [--no-new-keyring] [--preserve-fds N] ID`` — create + start, then (without
--detach) wait for the process, forward signals, delete the container, and exit with the
process's code."""

from __future__ import annotations

from berth.ocicli.args import Flag, parse, usage
from berth.ocicli.main import need_id
from berth.ocicli.v_create import FLAGS as CREATE_FLAGS
from berth.ocicli.v_create import options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context

FLAGS = [
    *CREATE_FLAGS,
    Flag("detach,d", help="detach from the container's process"),
    Flag("keep", help="do not delete the container after it exits"),
]


def run(ctx: Context, verb: str, args: list[str]) -> int:
    opts, rest = parse(args, FLAGS, verb)
    if opts["help"]:
        print(usage(verb, "[command options] <container-id>", FLAGS), end="")
        return 0
    cid = need_id(verb, rest)
    from berth.linux import syscalls as S
    from berth.runtime import container

    store = ctx.store()
    co = options(opts)
    proxy = None
    if not opts["detach"]:
        S.default().prctl(S.PR_SET_CHILD_SUBREAPER, 1)
        if not co.console_socket:  # type: ignore[attr-defined]
            from berth.runtime.config import load

            if load(co.bundle).get("process", {}).get("terminal"):  # type: ignore[attr-defined]
                from berth.ocicli.tty import ConsoleProxy

                proxy = ConsoleProxy()
                co.console_fd = proxy.child_fd  # type: ignore[attr-defined]
    try:
        st = container.create(store, cid, co)  # type: ignore[arg-type]
    finally:
        for w in co.warnings:  # type: ignore[attr-defined]
            ctx.log.warning(w)
    try:
        if proxy is not None:
            proxy.receive()
        for w in container.start(store, cid):
            ctx.log.warning(w)
    except BaseException:
        container.delete(store, cid, force=True)
        raise
    if opts["detach"]:
        return 0
    code = proxy.copy_until_exit(st.pid) if proxy is not None else container.wait_forwarding(st.pid)
    if not opts["keep"]:
        for w in container.delete(store, cid, force=True):
            ctx.log.warning(w)
    return code
