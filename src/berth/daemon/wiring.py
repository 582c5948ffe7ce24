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
from dataclasses import dataclass

from berth.api import auth as auth_api
from berth.api import df as df_api
from berth.api import image_archive as image_archive_api
from berth.api import images as images_api
from berth.api import system as system_api
from berth.api.router import Router
from berth.api.server import ApiServer
from berth.api.wire import API_VERSION, MIN_API_VERSION
from berth.content import LocalStore
from berth.daemon.config import DaemonConfig
from berth.engine.df import DiskUsageService
from berth.engine.image_archive import ImageArchive
from berth.engine.images import ImageEngine
from berth.engine.system import SystemConfig, SystemService, engine_id
from berth.images import ImageService
from berth.metadata import Database
from berth.registry import Client, RegistryHosts
from berth.snapshots import OverlaySnapshotter

__all__ = ["Services", "build_api", "build_images", "build_router", "build_services"]


@dataclass
class Services:
    system: SystemService
    images: ImageEngine


def build_images(cfg: DaemonConfig) -> ImageEngine:
    """The image store under ``--root``: berth.db, content/, snapshots/ (ARCHITECTURE.md
    "On disk"); 127.0.0.0/8 is always an insecure registry, as in dockerd."""
    db = Database(os.path.join(cfg.root, "berth.db"))
    store = LocalStore(os.path.join(cfg.root, "content"))
    snapshotter = OverlaySnapshotter(cfg.root, db)
    hosts = RegistryHosts(
        insecure=("127.0.0.0/8", *cfg.insecure_registries), mirrors=tuple(cfg.registry_mirrors)
    )
    service = ImageService(store, snapshotter, db, Client(hosts=hosts))
    service.recover()
    return ImageEngine(service)


def build_services(cfg: DaemonConfig) -> Services:
    images = build_images(cfg)
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
    )
    return Services(system=system, images=images)


def build_router(services: Services) -> Router:
    router = Router()
    system_api.register(router, services.system)
    archive = ImageArchive(services.images.service)
    images_api.register(router, services.images, importer=image_archive_api.import_handler(archive))
    image_archive_api.register(router, archive)
    df_api.register(router, DiskUsageService(services.images.service))
    auth_api.register(router, services.images)
    return router


def build_api(services: Services) -> ApiServer:
    return ApiServer(build_router(services))
