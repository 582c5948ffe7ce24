"""Running test code inside a network namespace made by berth or by the test."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

from berth.linux import syscalls as sc

__all__ = ["in_netns"]

T = TypeVar("T")


def in_netns(path: str, fn: Callable[[], T]) -> T:
    """``fn()`` on a throwaway thread that joined the network namespace bound at ``path``
    (setns(2) with CLONE_NEWNET moves only the calling thread); its result or exception."""
    out: list[T] = []
    err: list[BaseException] = []

    def work() -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                sc.default().setns(fd, sc.CLONE_NEWNET)
            finally:
                os.close(fd)
            out.append(fn())
        except BaseException as exc:
            err.append(exc)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    if err:
        raise err[0]
    return out[0]
