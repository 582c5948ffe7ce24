"""The daemon's event log: what ``GET /events`` streams and ``berth events`` prints.

Services :meth:`EventBus.publish` an :class:`Event` (type ``container``, ``image``,
``volume``, ``network``; an action such as ``create``, ``start``, ``die``,
``health_status: healthy``; the actor's id and attributes). The bus keeps the last
:data:`KEEP` events for ``--since`` (dockerd keeps 256; berth more, since a missed ``die``
is what makes scripts hang) and fans new ones out to subscribers. Publishing is
thread-safe: the container monitor threads publish; subscribers are asyncio queues fed
on the loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["KEEP", "Event", "EventBus"]

KEEP = 1024


@dataclass(frozen=True)
class Event:
    type: str
    action: str
    actor_id: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    time_ns: int = 0
    scope: str = "local"


class EventBus:
    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._log: deque[Event] = deque(maxlen=KEEP)
        self._subs: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]] = []

    def publish(
        self, type: str, action: str, actor_id: str, attributes: Mapping[str, str] | None = None
    ) -> Event:
        with self._lock:
            ev = Event(type, action, actor_id, dict(attributes or {}), self._clock())
            self._log.append(ev)
            subs = list(self._subs)
        for loop, q in subs:
            try:
                loop.call_soon_threadsafe(q.put_nowait, ev)
            except RuntimeError:
                pass  # the loop has closed
        return ev

    def history(self, since_ns: int = 0, until_ns: int = 0) -> list[Event]:
        with self._lock:
            return [
                e
                for e in self._log
                if (not since_ns or e.time_ns >= since_ns) and (not until_ns or e.time_ns <= until_ns)
            ]

    async def subscribe(self, since_ns: int = 0, until_ns: int = 0) -> AsyncIterator[Event]:
        """Past events from ``since_ns`` (when given), then live ones until ``until_ns``
        (0: until the caller stops iterating)."""
        loop = asyncio.get_running_loop()
        q: asyncio.Queue[Event] = asyncio.Queue()
        with self._lock:
            past = [e for e in self._log if since_ns and e.time_ns >= since_ns]
            self._subs.append((loop, q))
        try:
            last = 0
            for e in past:
                if until_ns and e.time_ns > until_ns:
                    return
                last = e.time_ns
                yield e
            while True:
                if until_ns:
                    remaining = (until_ns - time.time_ns()) / 1e9
                    if remaining <= 0:
                        return
                    try:
                        e = await asyncio.wait_for(q.get(), remaining)
                    except TimeoutError:
                        return
                else:
                    e = await q.get()
                if e.time_ns <= last and past:
                    continue  # already sent from the history
                if until_ns and e.time_ns > until_ns:
                    return
                yield e
        finally:
            with self._lock:
                self._subs = [s for s in self._subs if s[1] is not q]
