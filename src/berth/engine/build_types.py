"""What a ``docker build`` asks of the engine, and what the build cache reports.

:class:`BuildRequest` is ``POST /build``'s query (Engine API 1.41, classic builder) after
the API layer has parsed it: plain values, no wire names. :class:`CacheUsage` is one
build cache record as ``system df`` and ``builder prune`` count it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BuildRequest", "CacheUsage"]


@dataclass
class BuildRequest:
    """One build. ``build_args`` values may be None: the ARG is named but unset (Docker's
    ``--build-arg KEY`` with KEY absent from the client's environment).
    ``registry_auth`` is the ``X-Registry-Config`` header decoded: registry host →
    AuthConfig (``username``, ``password``, ``identitytoken``, ``serveraddress``), used
    for the pulls FROM makes."""

    tags: list[str] = field(default_factory=list)
    dockerfile: str = "Dockerfile"
    remote: str = ""
    build_args: dict[str, str | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    no_cache: bool = False
    pull: bool = False
    quiet: bool = False
    rm: bool = True
    force_rm: bool = False
    target: str = ""
    cache_from: list[str] = field(default_factory=list)
    network_mode: str = ""
    platform: str = ""
    extra_hosts: list[str] = field(default_factory=list)
    shm_size: int = 0
    memory: int = 0
    cpu_quota: int = 0
    registry_auth: dict[str, dict[str, str]] = field(default_factory=dict)
    # berth's own: a context directory on the daemon's host, read in place instead of
    # an uploaded tar (the berth CLI over a local socket); "" = the uploaded tar
    context_dir: str = ""
    context_id: str = ""  # the directory's device:inode as the client sees it


@dataclass
class CacheUsage:
    """One build cache record; times are RFC 3339 UTC strings."""

    id: str
    size: int
    created: str
    last_used: str
    in_use: bool
    shared: bool
    description: str
