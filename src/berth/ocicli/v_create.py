"""``create [--bundle DIR] [--pid-file F] [--console-socket SOCK] [--no-pivot]
[--no-new-keyring] [--preserve-fds N] ID``"""

from __future__ import annotations

from berth.ocicli.args import Flag, parse, usage
from berth.ocicli.main import need_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from berth.ocicli.main import Context

FLAGS = [
    Flag("bundle,b", "str", ".", "path to the root of the bundle directory"),
    Flag("console-socket", "str", "", "path to an AF_UNIX socket which will receive the pty master"),
    Flag("pid-file", "str", "", "specify the file to write the process id to"),
    Flag("no-pivot", help="do not use pivot root to jail process inside rootfs"),
    Flag("no-new-keyring", help="do not create a new session keyring for the container"),
    Flag("preserve-fds", "int", 0, "pass N additional file descriptors to the container"),
    Flag("help,h", help="show help"),
]


def options(opts: dict[str, object]) -> object:
    from berth.runtime.container import CreateOptions

    o = CreateOptions(str(opts["bundle"]))
    o.pid_file = str(opts["pid_file"] or "")
    o.console_socket = str(opts["console_socket"] or "")
    o.no_pivot = bool(opts["no_pivot"])
    o.no_new_keyring = bool(opts["no_new_keyring"])
    o.preserve_fds = int(opts["preserve_fds"] or 0)  # type: ignore[call-overload]
    return o


def run(ctx: Context, verb: str, args: list[str]) -> int:
    opts, rest = parse(args, FLAGS, verb)
    if opts["help"]:
        print(usage(verb, "[command options] <container-id>", FLAGS), end="")
        return 0
    cid = need_id(verb, rest)
    from berth.runtime.container import create

    co = options(opts)
    try:
        create(ctx.store(), cid, co)  # type: ignore[arg-type]
    finally:
        for w in co.warnings:  # type: ignore[attr-defined]
            ctx.log.warning(w)
    return 0
