"""A released address's connection-tracking entries, forgotten off the stop path.

When a container leaves a network its address goes back to the pool while the host's
conntrack table still holds its flows (see :mod:`berth.network.conntrack` for what they
break: UDP to a published port stuck on the old address, TCP through a loopback-published
port stalling on the next owner's TIME_WAIT sockets). Forgetting them walks the whole
conntrack hash table (a few ms per address even when nothing matches), so it runs in the
background once the firewall no longer sends traffic to the address — a flow recreated
by an in-flight packet before the DNAT rule went would otherwise survive — and an
address is not given out again before its entries are gone (:meth:`StaleFlows.settle`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable

from berth import errdefs
from berth.network import conntrack

__all__ = ["StaleFlows"]

log = logging.getLogger(__name__)

_SETTLE_TIMEOUT = 10.0


class StaleFlows:
    def __init__(
        self,
        forget: Callable[[list[str]], int] = conntrack.forget_addresses,
        forget_ports: Callable[[int, list[int]], int] = conntrack.forget_ports,
    ) -> None:
        self._forget = forget
        self._forget_ports = forget_ports
        self._cond = threading.Condition()
        self._pending: Counter[str] = Counter()

    def job(self, addresses: Iterable[str]) -> Callable[[], None]:
        """Mark ``addresses`` as being forgotten; the returned callable forgets them (run it
        once, when no rule sends traffic to them any more)."""
        addrs = [a for a in addresses if a]
        with self._cond:
            self._pending.update(addrs)

        def run() -> None:
            try:
                if addrs:
                    n = self._forget(addrs)
                    if n:
                        log.debug("forgot %d conntrack entries of %s", n, ", ".join(addrs))
            except errdefs.BerthError as exc:
                log.warning("conntrack entries of %s stay: %s", ", ".join(addrs), exc.message)
            finally:
                with self._cond:
                    self._pending.subtract(addrs)
                    self._pending += Counter()  # drop the zeros
                    self._cond.notify_all()

        return run

    def soon(self, job: Callable[[], None]) -> None:
        """Run ``job`` (a :meth:`job`) on a background thread, now."""
        threading.Thread(target=job, name="conntrack-forget", daemon=True).start()

    def ports_soon(self, proto: int, ports: Iterable[int]) -> None:
        """Forget the flows to host ``ports`` (just published) on a background thread: a
        client that kept sending to one before keeps its flow, and its NAT, until then."""
        wanted = sorted(set(ports))

        def run() -> None:
            try:
                self._forget_ports(proto, wanted)
            except errdefs.BerthError as exc:
                log.warning("conntrack entries of port(s) %s stay: %s", ", ".join(map(str, wanted)), exc.message)

        if wanted:
            self.soon(run)

    def settle(self, address: str, timeout: float = _SETTLE_TIMEOUT) -> bool:
        """Wait until ``address`` has no forgetting in flight; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending[address], timeout)

    def drain(self, timeout: float = _SETTLE_TIMEOUT) -> bool:
        """Wait for every forgetting in flight (berthd stopping)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending, timeout)
