"""berth's firewall from the records: every bridge network with the ports its containers
publish, as :class:`berth.network.nft.State`, applied in one transaction, plus the hole
in the host's iptables FORWARD chain where that chain drops (:mod:`berth.network.hostfw`).

A container's ports are published on its first network (the endpoint that is ``eth0``,
the one with the default route), as Docker does.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from berth import errdefs
from berth.engine.containers.model import Container, EndpointSettings
from berth.engine.networks.model import ICC_OPT, MASQ_OPT, Network, bool_opt, to_doc
from berth.network import hostfw, links, nft
from berth.network.ipam import subnets_of

__all__ = ["Firewall", "primary_endpoint", "state_networks"]

log = logging.getLogger(__name__)
_POLICY_TTL = 5.0  # seconds a reading of the host's input policy is trusted


def primary_endpoint(c: Container) -> EndpointSettings | None:
    """The endpoint a container's published ports lead to: its ``eth0``."""
    return next((ep for ep in c.network_settings.networks.values() if ep.endpoint_id and ep.ifname == "eth0"), None)


def state_networks(nets: Sequence[Network], containers: Iterable[Container]) -> tuple[nft.Network, ...]:
    by_net: dict[str, list[nft.Port]] = {n.id: [] for n in nets}
    for c in containers:
        primary = primary_endpoint(c)
        if primary is None or not c.network_settings.ports:
            continue
        for key, binds in c.network_settings.ports.items():
            cport, proto = key.split("/")
            for b in binds:
                host_ip = "" if b.host_ip in ("", "0.0.0.0", "::") else b.host_ip
                by_net.setdefault(primary.network_id, []).append(
                    nft.Port(proto, int(b.host_port), primary.ip_address, int(cport), host_ip)
                )
    return tuple(
        nft.Network(
            bridge=n.bridge,
            subnets=tuple(str(s.subnet) for s in subnets_of(to_doc(n)) if s.version == 4 or n.enable_ipv6),
            internal=n.internal,
            icc=bool_opt(n.options, ICC_OPT, True),
            masquerade=bool_opt(n.options, MASQ_OPT, True),
            ports=tuple(by_net.get(n.id, ())),
        )
        for n in nets
    )


class Firewall:
    """berth's nftables table ``table`` (a test daemon has its own) and its FORWARD hole.
    ``policy`` is what published ports get after the user's chain: ``auto`` follows the
    host's input policy, read at every sync."""

    def __init__(self, table: str, policy: Literal["auto", "accept", "drop"]) -> None:
        self.table = table
        self.policy = policy
        self._lock = threading.RLock()
        self._pending = threading.Lock()  # held while a background sync waits to run
        self._bridges: tuple[str, ...] | None = None  # the FORWARD hole was made for these
        self._input_policy: tuple[float, Literal["accept", "drop"]] | None = None
        self._removed = False  # berthd stopped with nothing running: no late sync remakes it
        self._after: list[Callable[[], None]] = []  # what waits for the next background sync
        self._after_lock = threading.Lock()

    def _published_policy(self) -> Literal["accept", "drop"]:
        if self.policy != "auto":
            return self.policy
        now = time.monotonic()
        if self._input_policy is None or now - self._input_policy[0] > _POLICY_TTL:
            try:
                policy = nft.host_input_policy(nft.list_chains_json(), self.table)
            except errdefs.BerthError:
                policy = "accept"
            self._input_policy = (now, policy)
        return self._input_policy[1]

    def sync(self, inputs: Callable[[], tuple[Sequence[Network], Iterable[Container]]]) -> None:
        """Apply the state ``inputs()`` describes. ``inputs`` is read under the lock, so
        whichever sync applies last applies the latest records (syncs may race)."""
        with self._lock:
            if self._removed:
                return
            nets, containers = inputs()
            state = nft.State(
                networks=state_networks(nets, containers), published_policy=self._published_policy(), table=self.table
            )
            for key, value in nft.sysctls(state).items():
                with contextlib.suppress(errdefs.BerthError):
                    links.set_sysctl(key, value)
            nft.apply(nft.render(state))
            bridges = tuple(sorted(n.bridge for n in nets))
            if bridges != self._bridges:
                hostfw.sync(self.table, bridges)
                self._bridges = bridges

    def sync_soon(
        self, inputs: Callable[[], tuple[Sequence[Network], Iterable[Container]]], then: Callable[[], None] | None = None
    ) -> None:
        """:meth:`sync` on a background thread; several requests while one waits make one.
        ``then`` runs after a sync that read the records as they are now (whether it
        succeeded or not)."""
        if then is not None:
            with self._after_lock:
                self._after.append(then)
        if not self._pending.acquire(blocking=False):
            return

        def run() -> None:
            with self._lock:  # wait for a running sync; then read the latest records
                self._pending.release()
                with self._after_lock:
                    after, self._after = self._after, []
                try:
                    self.sync(inputs)
                except errdefs.BerthError as exc:
                    log.warning("firewall: %s", exc.message)
            for fn in after:
                try:
                    fn()
                except Exception:  # one failing must not keep the others from running
                    log.exception("firewall: a task after the sync failed")

        threading.Thread(target=run, name="firewall-sync", daemon=True).start()

    def remove(self) -> None:
        with self._lock:
            self._bridges = None
            self._removed = True
            with contextlib.suppress(errdefs.BerthError):
                nft.delete(table=self.table)
            hostfw.remove(self.table)
