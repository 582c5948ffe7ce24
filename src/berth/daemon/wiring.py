"""The composition root: the one place that picks implementations and connects them.

:func:`build_services` makes the engine services from the configuration; :func:`build_api`
registers each resource's routes with the service that backs it. A later service (images,
containers, networks, volumes) is added in three lines: a field on :class:`Services`, its
construction in :func:`build_services`, and its ``berth.api.<resource>.register(router,
service)`` call in :func:`build_router`. Each API module states the narrow Protocol its
backend must satisfy, so a test can hand it a fake instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

from berth.api import auth as auth_api
from berth.api import build as build_routes
from berth.api import container_archive as container_archive_api
from berth.api import container_ops as container_ops_api
from berth.api import containers as containers_api
from berth.api import df as df_api
from berth.api import events as events_api
from berth.api import exec as exec_api
from berth.api import image_archive as image_archive_api
from berth.api import images as images_api
from berth.api import networks as networks_api
from berth.api import system as system_api
from berth.api import volumes as volumes_api
from berth.api.router import Router
from berth.api.server import ApiServer
from berth.api.wire import API_VERSION, MIN_API_VERSION
from berth.content import LocalStore
from berth.daemon.config import DaemonConfig
from berth.daemon.initbin import find_init
from berth.engine.build import BuildService
from berth.engine.containers.exec import ExecService
from berth.engine.containers.service import ContainerService, ServiceConfig
from berth.engine.containers.store import ContainerStore
from berth.engine.df import DiskUsageService
from berth.engine.events import EventBus
from berth.engine.image_archive import ImageArchive
from berth.engine.images import ImageEngine
from berth.engine.networks.engine import NetworkEngine
from berth.engine.networks.service import NetworkConfig, NetworkService
from berth.engine.system import ContainerCounts, SystemConfig, SystemService, engine_id
from berth.engine.volumes import VolumeEngine
from berth.images import ImageService
from berth.metadata import Database
from berth.registry import Client, RegistryHosts
from berth.shim.client import ShimPool, use_pool
from berth.snapshots import OverlaySnapshotter
from berth.volumes import VolumeService

__all__ = ["Services", "build_api", "build_images", "build_router", "build_services"]


@dataclass
class Services:
    system: SystemService
    images: ImageEngine
    volumes: VolumeEngine
    containers: ContainerService
    events: EventBus
    networks: NetworkService


def build_images(cfg: DaemonConfig, db: Database | None = None) -> ImageEngine:
    """The image store under ``--root``: berth.db (``db`` when the caller shares one),
    content/, snapshots/ (ARCHITECTURE.md "On disk"); 127.0.0.0/8 is always an insecure
    registry, as in dockerd."""
    db = db or Database(os.path.join(cfg.root, "berth.db"))
    store = LocalStore(os.path.join(cfg.root, "content"))
    snapshotter = OverlaySnapshotter(cfg.root, db)
    hosts = RegistryHosts(
        insecure=("127.0.0.0/8", *cfg.insecure_registries), mirrors=tuple(cfg.registry_mirrors)
    )
    service = ImageService(store, snapshotter, db, Client(hosts=hosts))
    service.recover()
    return ImageEngine(service)


def build_services(cfg: DaemonConfig) -> Services:
    db = Database(os.path.join(cfg.root, "berth.db"))
    images = build_images(cfg, db)
    events = EventBus()
    images.events = events
    volume_service = VolumeService(cfg.root, db)
    volumes = VolumeEngine(volume_service, events)
    networks = build_networks(cfg, db, events)
    containers = build_containers(cfg, db, images, volume_service, events, networks)
    system = SystemService(
        SystemConfig(
            root=cfg.root,
            exec_root=cfg.exec_root,
            runtimes=cfg.all_runtimes(),
            default_runtime=cfg.default_runtime,
            debug=cfg.debug,
            insecure_registries=tuple(cfg.insecure_registries),
            registry_mirrors=tuple(cfg.registry_mirrors),
            labels=tuple(cfg.labels),
        ),
        engine_id=engine_id(cfg.root),
        api_version=API_VERSION,
        min_api_version=MIN_API_VERSION,
        image_count=images.count,
        container_counts=lambda: _counts(containers),
    )
    return Services(
        system=system, images=images, volumes=volumes, containers=containers, events=events, networks=networks
    )


def build_networks(cfg: DaemonConfig, db: Database, events: EventBus) -> NetworkService:
    """The network service: the built-in networks, bridges and firewall made (or
    reconciled) now; containers are attached when the container service is built."""
    import ipaddress

    policy = cfg.published_ports_policy
    ncfg = NetworkConfig(
        bridge=cfg.bridge,
        bip=cfg.bip,
        nft_table=cfg.nft_table,
        icc=cfg.icc,
        ip_masq=cfg.ip_masq,
        published_policy="accept" if policy == "accept" else "drop" if policy == "drop" else "auto",
    )
    if cfg.default_address_pools:
        ncfg.pools = [ipaddress.ip_network(p) for p in cfg.default_address_pools]
    service = NetworkService(db, ncfg, events)
    service.start()
    return service


def _counts(containers: ContainerService) -> ContainerCounts:
    cs = containers.list()
    running = sum(1 for c in cs if c.state.running and not c.state.paused)
    paused = sum(1 for c in cs if c.state.paused)
    return ContainerCounts(running=running, paused=paused, stopped=len(cs) - running - paused)


def build_containers(
    cfg: DaemonConfig,
    db: Database,
    images: ImageEngine,
    volumes: VolumeService,
    events: EventBus,
    networks: NetworkService | None = None,
) -> ContainerService:
    """The container service over the image store's snapshotter, berth-shim beside this
    Python (else on PATH), and the host's cgroup mode; live containers are restored."""
    from berth.cgroups import detect

    beside = os.path.join(os.path.dirname(sys.executable), "berth-shim")
    shim = beside if os.access(beside, os.X_OK) else (shutil.which("berth-shim") or "berth-shim")
    service = ContainerService(
        ServiceConfig(
            root=cfg.root,
            exec_root=cfg.exec_root,
            runtimes=cfg.all_runtimes(),
            default_runtime=cfg.default_runtime,
            shim=[shim],
            cgroup_v2=detect().mode == "v2",
            ncpu=os.cpu_count() or 1,
            init_path=find_init(),
        ),
        images.service,
        images.service.sn,
        ContainerStore(db),
        volumes,
        events,
    )
    # one shim waits, started, for the next container (a start saves an interpreter start)
    pool = ShimPool([shim])
    use_pool(pool)
    pool.refill_later()
    service.on_close(pool.close)
    images.service.set_usage(service)
    volumes.users = service
    if networks is not None:
        service.networks = networks
        networks.containers = service.list
    service.restore()
    if networks is not None:
        networks.sync_firewall()  # the ports of the containers that outlived the old daemon
    return service


def build_router(services: Services) -> Router:
    router = Router()
    system_api.register(router, services.system)
    archive = ImageArchive(services.images.service)
    images_api.register(router, services.images, importer=image_archive_api.import_handler(archive))
    image_archive_api.register(router, archive)
    build = BuildService(services.images.service, services.containers, os.path.join(services.system.config.root, "tmp", "build"))
    df_api.register(
        router,
        DiskUsageService(services.images.service, services.containers, services.volumes.service, build.usage),
    )
    build_routes.register(router, build)
    auth_api.register(router, services.images)
    volumes_api.register(router, services.volumes)
    networks_api.register(router, NetworkEngine(services.networks, services.containers))
    containers_api.register(router, services.containers)
    container_archive_api.register(router, container_archive_api.backend_for(services.containers, services.images.service))
    container_ops_api.register(router, services.containers)
    events_api.register(router, services.events)
    exec_api.register(router, ExecService(services.containers))
    return router


def build_api(services: Services) -> ApiServer:
    return ApiServer(build_router(services))
