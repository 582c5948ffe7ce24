"""The image service's values and the narrow protocols of what it is handed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from berth.oci.digest import Digest
from berth.oci.image import Descriptor, History, ImageConfig
from berth.oci.platform import Platform
from berth.oci.reference import Reference
from berth.registry import Credentials, Progress, PullResult, Resolved
from berth.registry.store import BlobIngester, BlobProvider

__all__ = [
    "ContainerUsage",
    "DeleteItem",
    "ImageDetail",
    "ImageSummary",
    "PullEvent",
    "PullFn",
    "PushResult",
    "RegistryClient",
]


@dataclass(frozen=True)
class PullEvent:
    """One line of a pull's progress, in Docker's words (README §3.3): ``status``
    (``Pulling fs layer``, ``Downloading``, ``Digest: sha256:…``…), ``id`` (a layer's
    short id, or the tag for ``Pulling from``), ``current``/``total`` for progress bars
    (None: no progress detail)."""

    status: str
    id: str = ""
    current: int | None = None
    total: int | None = None


PullFn = Callable[[PullEvent], None]


@dataclass(frozen=True)
class PushResult:
    """A tag pushed: Docker's final ``aux`` of a push (``Tag``, ``Digest``, ``Size`` of
    the manifest or index bytes)."""

    tag: str
    digest: Digest
    size: int


@dataclass(frozen=True)
class ImageSummary:
    id: Digest  # the config digest
    repo_tags: tuple[str, ...]  # familiar: busybox:latest
    repo_digests: tuple[str, ...]  # familiar: busybox@sha256:…
    created: int  # unix seconds (config "created"; 0 when absent)
    size: int
    labels: Mapping[str, str]
    target: Digest  # the descriptor a name points at (index or manifest)


@dataclass(frozen=True)
class ImageDetail:
    id: Digest
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    created: str  # RFC 3339, as in the config
    size: int
    architecture: str
    os: str
    variant: str
    author: str
    config: ImageConfig
    diff_ids: tuple[Digest, ...]
    chain_ids: tuple[Digest, ...]
    layer_sizes: tuple[int, ...]  # per layer, base first
    history: tuple[History, ...]
    comment: str = ""
    docker_version: str = ""
    raw_config: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class DeleteItem:
    """One record of ``rmi``: exactly one of ``untagged`` (a familiar name) or
    ``deleted`` (an image id or a layer's chain id)."""

    untagged: str = ""
    deleted: str = ""


class ContainerUsage(Protocol):
    """What the container service tells the image service: for an image id, the
    containers made from it and whether each is running."""

    def containers_using(self, image_id: Digest) -> Sequence[tuple[str, bool]]: ...


class RegistryClient(Protocol):
    """What :class:`berth.registry.Client` offers the image service."""

    def resolve(self, ref: Reference | str, *, credentials: Credentials | None = None) -> Resolved: ...

    def pull(
        self,
        ref: Reference | str,
        ingester: BlobIngester,
        *,
        platform: Platform | None = None,
        progress: Callable[[Progress], None] | None = None,
        credentials: Credentials | None = None,
    ) -> PullResult: ...

    def push(
        self,
        ref: Reference | str,
        provider: BlobProvider,
        descriptor: Descriptor,
        *,
        mount_from: Sequence[str] = (),
        progress: Callable[[Progress], None] | None = None,
        credentials: Credentials | None = None,
    ) -> Digest: ...

    def login(
        self, registry: str, username: str, password: str, *, store: bool = True, keep: bool = True
    ) -> None: ...
