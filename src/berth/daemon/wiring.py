"""The composition root: the one place that picks implementations and connects them.

:func:`build_services` makes the engine services from the configuration; :func:`build_api`
registers each resource's routes with the service that backs it. A later service (images,
containers, networks, volumes) is added in three lines: a field on :class:`Services`, its
construction in :func:`build_services`, and its ``berth.api.<resource>.register(router,
service)`` call in :func:`build_router`. Each API module states the narrow Protocol its
backend must satisfy, so a test can hand it a fake instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from berth.api import system as system_api
from berth.api.router import Router
from berth.api.server import ApiServer
from berth.api.wire import API_VERSION, MIN_API_VERSION
from berth.daemon.config import DaemonConfig
from berth.engine.system import SystemConfig, SystemService, engine_id

__all__ = ["Services", "build_api", "build_router", "build_services"]


@dataclass
class Services:
    system: SystemService


def build_services(cfg: DaemonConfig) -> Services:
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
    )
    return Services(system=system)


def build_router(services: Services) -> Router:
    router = Router()
    system_api.register(router, services.system)
    return router


def build_api(services: Services) -> ApiServer:
    return ApiServer(build_router(services))
