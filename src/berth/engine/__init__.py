"""engine: the Docker domain as services the API serves (ARCHITECTURE.md L6).

Each service is a class with async methods returning plain domain values (snake_case
dataclasses); the wire shapes built from them live in :mod:`berth.api`. For now there is
the system service (:mod:`berth.engine.system`); containers, images, networks and volumes
join it here and are composed by :mod:`berth.daemon.wiring`.
"""
