"""``berth-runtime [global flags] VERB [flags] ARGS`` — runc's command line.

Global flags: ``--root DIR`` (state, default /run/berth-runtime), ``--log FILE``,
``--log-format text|json``, ``--debug``, ``--systemd-cgroup`` (refused: berth drives
cgroupfs directly), ``--version``. Exit status 0 on success, 1 on any error (runc's), with
the message on stderr and in the log.
"""

from __future__ import annotations

import os
import sys

from berth.ocicli.args import Flag, parse, usage
from berth.ocicli.log import Logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Context", "main"]

VERSION = "0.1.0"
SPEC_VERSION = "1.1.0"

GLOBAL_FLAGS = [
    Flag("root", "str", "/run/berth-runtime", "root directory for storage of container state"),
    Flag("log", "str", "", "set the log file to write berth-runtime logs to (default is stderr)"),
    Flag("log-format", "str", "text", "set the log format ('text' (default), or 'json')"),
    Flag("debug", help="enable debug logging"),
    Flag("systemd-cgroup", help="use systemd cgroup management (not supported by berth-runtime)"),
    Flag("criu", "str", "", "path to criu (checkpoint/restore is not supported)"),
    Flag("rootless", "str", "auto", "ignore cgroup permission errors ('true', 'false', or 'auto')"),
    Flag("version,v", help="print the version"),
    Flag("help,h", help="show help"),
]

VERBS = {
    "create": "create a container",
    "start": "executes the user defined process in a created container",
    "run": "create and run a container",
    "state": "output the state of a container",
    "kill": "kill sends the specified signal (default: SIGTERM) to the container's init process",
    "delete": "delete any resources held by the container often used with detached container",
    "exec": "execute new process inside the container",
    "list": "lists containers started by berth-runtime with the given root",
    "ps": "ps displays the processes running inside a container",
    "pause": "pause suspends all processes inside the container",
    "resume": "resumes all processes that have been previously paused",
    "spec": "create a new specification file",
    "features": "show the enabled features",
    "update": "update container resource constraints",
    "events": "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
    "checkpoint": "checkpoint a running container (not supported)",
    "restore": "restore a container from a previous checkpoint (not supported)",
}
_MODULE = {"resume": "pause", "list": "list_"}


class Context:
    """What every verb gets: the state store, the logger, the global flags."""

    __slots__ = ("log", "opts", "root")

    def __init__(self, opts: dict[str, Any], log: Logger) -> None:
        self.opts = opts
        self.root = opts["root"]
        self.log = log

    def store(self) -> Any:
        from berth.runtime.state import Store

        return Store(self.root)


def _help() -> str:
    lines = ["usage: berth-runtime [global options] command [command options] [arguments...]", "", "commands:"]
    lines += [f"   {v:<11}{d}" for v, d in VERBS.items()]
    lines.append("\nglobal options:")
    lines += usage("", "", GLOBAL_FLAGS).splitlines()[2:]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    log = Logger()
    try:
        from berth.errdefs import BerthError, InvalidArgument
    except ImportError:  # pragma: no cover
        raise
    try:
        gopts, rest = parse(argv, GLOBAL_FLAGS, "berth-runtime")
        log = Logger(gopts["log"], gopts["log_format"], gopts["debug"])
        if gopts["log_format"] not in ("text", "json"):
            raise InvalidArgument(f"invalid log-format: {gopts['log_format']}")
        if gopts["version"]:
            sys.stdout.write(f"berth-runtime version {VERSION}\nspec: {SPEC_VERSION}\nlibseccomp: {libseccomp_version()}\n")
            return _flush(0)
        if not rest or gopts["help"] or rest[0] in ("help", "--help", "-h"):
            sys.stdout.write(_help())
            return _flush(0)
        if gopts["systemd_cgroup"]:
            raise InvalidArgument(
                "--systemd-cgroup: systemd cgroup management is not supported by berth-runtime;"
                " it manages cgroupfs directly (run without --systemd-cgroup)"
            )
        verb, vargs = rest[0], rest[1:]
        if verb not in VERBS:
            raise InvalidArgument(f"no such command: {verb!r} (see berth-runtime --help)")
        mod = __import__(f"berth.ocicli.v_{_MODULE.get(verb, verb)}", fromlist=["run"])
        ctx = Context(gopts, log)
        code: int = mod.run(ctx, verb, vargs)
        return _flush(code)
    except BerthError as exc:
        log.error(exc.message)
        return _flush(1)
    except KeyboardInterrupt:
        return _flush(130)
    except OSError as exc:
        log.error(f"{exc.strerror or exc}" + (f": {exc.filename!r}" if exc.filename else ""))
        return _flush(1)
    except Exception as exc:  # a bug: say so in one line; --debug adds the traceback
        if log.debug_on:
            import traceback

            log.debug(traceback.format_exc())
        log.error(f"internal error: {type(exc).__name__}: {exc} (a bug in berth-runtime; run with --debug for details)")
        return _flush(1)


def _flush(code: int) -> int:
    try:
        sys.stdout.flush()
    except OSError:
        pass
    # Skip interpreter teardown (a few ms) on the hot path; nothing is left to clean up.
    os._exit(code)


def libseccomp_version() -> str:
    try:
        import ctypes

        class _V(ctypes.Structure):
            _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]

        lib = ctypes.CDLL("libseccomp.so.2")
        lib.seccomp_version.restype = ctypes.POINTER(_V)
        v = lib.seccomp_version().contents
        return f"{v.major}.{v.minor}.{v.micro}"
    except (OSError, AttributeError):
        return "not found"


def need_id(verb: str, args: list[str], n: int = 1) -> str:
    from berth.errdefs import InvalidArgument

    if len(args) < n:
        raise InvalidArgument(f'"{verb}" requires a minimum of {n} argument(s): the container id')
    return args[0]
