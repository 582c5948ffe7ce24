"""``berthd``: the berth daemon.

Start-up: read the configuration (:mod:`berth.daemon.config`), make the data and exec
roots, take the daemon lock (:mod:`berth.daemon.lock`), build the services
(:mod:`berth.daemon.wiring`), open the listeners (:mod:`berth.daemon.listeners`) and serve
until SIGTERM or SIGINT. Stopping closes the listeners and open connections, removes the
unix sockets and the pid file, releases the lock and exits 0. Any start-up failure is one
line on stderr and exit status 1.

Logs go to stderr in dockerd's (logrus) text form:
``time="2026-11-27T21:04:31.883916829Z" level=info msg="API listen on /run/berth/berth.sock"``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time

from berth.api.timefmt import rfc3339nano
from berth.daemon import config as config_mod
from berth.daemon.config import DaemonConfig
from berth.daemon.listeners import Listener, open_listeners
from berth.daemon.lock import DaemonLock
from berth.daemon.wiring import build_api, build_services
from berth.errdefs import BerthError, from_oserror

__all__ = ["main", "run"]

log = logging.getLogger("berthd")

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
}
_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error", logging.CRITICAL: "fatal"}


class _LogrusFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage().replace("\\", "\\\\").replace('"', '\\"')
        line = f'time="{rfc3339nano(time.time_ns())}" level={_NAMES.get(record.levelno, "info")} msg="{msg}"'
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LogrusFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS[level])


def _make_dirs(cfg: DaemonConfig) -> None:
    for path, mode in ((cfg.root, 0o711), (cfg.exec_root, 0o700)):
        try:
            os.makedirs(path, mode, exist_ok=True)
        except OSError as exc:
            raise from_oserror(f"create {path!r}", exc) from exc


async def run(cfg: DaemonConfig) -> int:
    """Serve until SIGTERM/SIGINT; the lock must be held by the caller."""
    loop = asyncio.get_running_loop()
    # Container operations block (shim calls, waits for exits, mounts): the default pool
    # of cpu+4 threads would let a few slow stops starve every other request.
    from concurrent.futures import ThreadPoolExecutor

    loop.set_default_executor(ThreadPoolExecutor(max_workers=64, thread_name_prefix="berthd"))
    # the listeners first: a bad -H fails before anything (bridges, firewall) is made
    listeners: list[Listener] = open_listeners(cfg)
    try:
        # off the loop: restoring containers and making bridges (pyroute2 runs its own loop)
        services = await asyncio.to_thread(build_services, cfg)
    except BaseException:
        for lst in listeners:
            lst.close()
        raise
    server = build_api(services)
    stop = asyncio.Event()
    got: list[str] = []

    def on_signal(name: str) -> None:
        got.append(name)
        stop.set()

    loop.add_signal_handler(signal.SIGTERM, on_signal, "terminated")
    loop.add_signal_handler(signal.SIGINT, on_signal, "interrupt")
    loop.add_signal_handler(signal.SIGHUP, log.info, "SIGHUP: configuration reload is not supported yet")
    try:
        for lst in listeners:
            await server.serve_socket(lst.sock, lst.ssl)
            log.info("API listen on %s", lst.path or lst.addr)
        log.info("berthd has completed initialization (pid %d)", os.getpid())
        await stop.wait()
        log.info("processing signal '%s'", got[0] if got else "terminated")
        await server.close()
        services.containers.close()
        running = any(c.state.running for c in services.containers.list())
        await asyncio.to_thread(services.networks.close, running)
    finally:
        for lst in listeners:
            lst.close()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
    log.info("daemon shutdown complete")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        cfg, show_version = config_mod.load(args)
    except BerthError as exc:
        sys.stderr.write(f"berthd: {exc.message}\n")
        return 1
    if show_version:
        sys.stdout.write(config_mod.version_line() + "\n")
        return 0
    _setup_logging(cfg.log_level)
    lock = DaemonLock(cfg.root, cfg.exec_root)
    try:
        _make_dirs(cfg)
        lock.acquire()
        try:
            return asyncio.run(run(cfg))
        finally:
            lock.release()
    except BerthError as exc:
        sys.stderr.write(f"berthd: {exc.message}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
