"""Logging for berth-runtime as runc does it: ``--log FILE`` gets one line per message,
``--log-format text`` (logfmt: ``time="…" level=error msg="…"``) or ``json``
(``{"level":"error","msg":"…","time":"…"}`` — containerd reports the last error line of
that file). Errors also go to stderr."""

from __future__ import annotations

import os
import time

from berth.oci import fastjson

__all__ = ["Logger"]


def _now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


class Logger:
    __slots__ = ("debug_on", "fmt", "path")

    def __init__(self, path: str = "", fmt: str = "text", debug: bool = False) -> None:
        self.path = path
        self.fmt = fmt
        self.debug_on = debug

    def _line(self, level: str, msg: str) -> str:
        if self.fmt == "json":
            return fastjson.dumps({"level": level, "msg": msg, "time": _now()}) + "\n"
        return f'time="{_now()}" level={level} msg={fastjson.dumps(msg)}\n'

    def log(self, level: str, msg: str) -> None:
        if level == "debug" and not self.debug_on:
            return
        line = self._line(level, msg)
        if self.path:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
                try:
                    os.write(fd, line.encode())
                finally:
                    os.close(fd)
            except OSError:
                pass
        if level in ("error", "fatal") or (not self.path and level in ("warning", "debug")):
            text = msg if level in ("error", "fatal") else line.rstrip("\n")
            try:
                os.write(2, (text + "\n").encode())
            except OSError:
                pass

    def error(self, msg: str) -> None:
        self.log("error", msg)

    def warning(self, msg: str) -> None:
        self.log("warning", msg)

    def debug(self, msg: str) -> None:
        self.log("debug", msg)
