"""What a volume is, and who tells the service that a container uses one.

A *volume* is a named directory that outlives containers: ``<root>/volumes/<name>/_data``
(its *mountpoint*), with a driver (only ``local``), labels and driver options. An
*anonymous* volume is one a container made for itself (``-v /data`` or an image's
``VOLUME``): its name is 64 random hex digits and it carries the label
``com.docker.volume.anonymous`` (as Docker ≥ 23 does), which is what ``volume prune``
without ``all=true`` removes.

A volume is *in use* (not *dangling*) while some container refers to it, stopped or
running; the service does not know containers, so it asks a :class:`VolumeUsers` (the
container service) which ones do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["ANONYMOUS_LABEL", "NoUsers", "Volume", "VolumeUsers"]

ANONYMOUS_LABEL = "com.docker.volume.anonymous"


@dataclass(frozen=True)
class Volume:
    name: str
    driver: str
    mountpoint: str
    created_at: str  # RFC 3339, seconds, UTC ("2026-11-27T20:58:47Z")
    labels: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    scope: str = "local"
    anonymous: bool = False


class VolumeUsers(Protocol):
    """Who uses a volume: the ids of the containers (any state) that mount it."""

    def volume_users(self, name: str) -> list[str]: ...


class NoUsers:
    """Nobody uses any volume (until the container service is wired in)."""

    def volume_users(self, name: str) -> list[str]:
        return []
