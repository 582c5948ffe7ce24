"""Running test code inside a network namespace made by berth or by the test."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

from berth.linux import syscalls as sc

__all__ = ["in_netns", "in_new_netns", "tcp_payload_rate"]

T = TypeVar("T")


def _on_thread(enter: Callable[[], None], fn: Callable[[], T]) -> T:
    """``enter()`` then ``fn()`` on a throwaway thread (namespace calls move only the
    calling thread, so the caller's stays as it was); ``fn``'s result or exception."""
    out: list[T] = []
    err: list[BaseException] = []

    def work() -> None:
        try:
            enter()
            out.append(fn())
        except BaseException as exc:
            err.append(exc)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    if err:
        raise err[0]
    return out[0]


def in_netns(path: str, fn: Callable[[], T]) -> T:
    """``fn()`` on a throwaway thread that joined the network namespace bound at ``path``
    (setns(2) with CLONE_NEWNET); its result or exception."""

    def enter() -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            sc.default().setns(fd, sc.CLONE_NEWNET)
        finally:
            os.close(fd)

    return _on_thread(enter, fn)


def in_new_netns(fn: Callable[[], T]) -> T:
    """``fn()`` on a throwaway thread in a new network namespace of its own (gone when
    the thread and what ``fn`` started there end); children it forks inherit it."""
    return _on_thread(lambda: sc.default().unshare(sc.CLONE_NEWNET), fn)


def tcp_payload_rate(bps: float, mtu: int = 1500) -> float:
    """What one TCP/IPv4 flow carries of a link rate ``bps`` that counts whole Ethernet
    frames, as tc's shapers do: a full segment's payload (MTU less 20 bytes of IP, 20 of
    TCP and 12 of timestamps) over its frame (MTU plus a 14-byte Ethernet header), about
    95.6 % at MTU 1500. Bandwidth tests compare what a receiver counts with this."""
    return bps * (mtu - 52) / (mtu + 14)
