"""The network service as the API calls it: :class:`NetworkService` (synchronous,
thread-safe; netlink and nft run in worker threads, never on the event loop) and
``network connect``/``disconnect``, which change a container and so go through the
container side (:mod:`berth.engine.containers.networking`)."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from berth.engine.containers import networking
from berth.engine.containers.model import EndpointSettings
from berth.engine.containers.service import ContainerService
from berth.engine.networks.filters import prune_match
from berth.engine.networks.model import EndpointView, Network
from berth.engine.networks.service import NetworkService

__all__ = ["NetworkEngine"]


class NetworkEngine:
    def __init__(self, service: NetworkService, containers: ContainerService) -> None:
        self.service = service
        self.containers = containers

    async def create(
        self,
        name: str,
        *,
        driver: str,
        options: Mapping[str, str],
        ipam_driver: str,
        ipam_options: Mapping[str, str],
        ipam_config: Sequence[Mapping[str, Any]],
        internal: bool,
        attachable: bool,
        enable_ipv6: bool,
        labels: Mapping[str, str],
    ) -> tuple[Network, str]:
        def run() -> tuple[Network, str]:
            return self.service.create(
                name, driver=driver, options=options, ipam_driver=ipam_driver, ipam_options=ipam_options,
                ipam_config=[{k: str(v) for k, v in c.items() if isinstance(v, str)} for c in ipam_config],
                internal=internal, attachable=attachable, enable_ipv6=enable_ipv6, labels=labels,
            )  # fmt: skip

        return await asyncio.to_thread(run)

    async def list(self) -> builtins.list[Network]:
        return await asyncio.to_thread(self.service.list)

    async def get(self, ref: str) -> Network:
        return await asyncio.to_thread(self.service.get, ref)

    async def endpoints(self, network: Network) -> dict[str, EndpointView]:
        return self.service.endpoints(network)

    async def in_use(self, network: Network) -> bool:
        return self.service.in_use(network)

    async def remove(self, ref: str) -> None:
        await asyncio.to_thread(self.service.remove, ref)

    async def prune(self, filters: Mapping[str, Sequence[str]]) -> builtins.list[str]:
        return await asyncio.to_thread(self.service.prune, lambda n: not prune_match(n, filters))

    async def connect(
        self,
        ref: str,
        container: str,
        *,
        aliases: Sequence[str],
        ipv4: str,
        ipv6: str,
        links: Sequence[str],
        driver_opts: Mapping[str, str],
        mac: str,
    ) -> None:
        ep = EndpointSettings(
            aliases=list(aliases), links=list(links), driver_opts=dict(driver_opts),
            ipv4_requested=ipv4, ipv6_requested=ipv6, mac_requested=mac,
        )  # fmt: skip
        await asyncio.to_thread(networking.connect, self.containers, ref, container, ep)

    async def disconnect(self, ref: str, container: str, force: bool) -> None:
        await asyncio.to_thread(networking.disconnect, self.containers, ref, container, force)
