"""What the builder asks of the engine (:class:`Worker`), what a build is told
(:class:`BuildOptions`), and how a build fails (:class:`BuildError`, :class:`StepFailed`).
The engine implements the worker (``berth.engine.build``); the builder never imports it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from berth import errdefs

__all__ = ["BuildError", "BuildOptions", "Emit", "StepFailed", "Worker"]

Emit = Callable[[str], None]


class BuildError(errdefs.InvalidArgument):
    """A Dockerfile that cannot be built as written (the step is named)."""


class StepFailed(errdefs.BerthError):
    """A RUN step's command exited non-zero."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class Worker(Protocol):
    def base(self, ref: str, *, pull: bool, platform: str, emit: Emit) -> str:
        """The image ``ref`` names (pulled when missing or with ``pull``): its id."""
        ...

    def raw_config(self, image_id: str) -> dict[str, Any]:
        """The image's config blob (``config``, ``history``, ``rootfs``…)."""
        ...

    def lookup(self, key: str) -> str | None: ...

    def remember(self, key: str, image_id: str) -> None: ...

    def commit_config(self, parent: str | None, config: dict[str, Any], created_by: str) -> str: ...

    def run(
        self, parent: str | None, config: dict[str, Any], cmd: list[str], env: list[str], *,
        created_by: str, network: str, emit: Emit,
    ) -> str:  # fmt: skip
        """Run ``cmd`` in a container of ``parent`` (with ``config``'s user and working
        dir and ``env``), commit its changes as a child image with ``config``; the id.
        A non-zero exit is :class:`StepFailed`."""
        ...

    def write_layer(
        self, parent: str | None, config: dict[str, Any], created_by: str, write: Callable[[str], None]
    ) -> str:
        """Mount a writable snapshot of ``parent``, call ``write(rootfs)``, commit what it
        changed as a child image with ``config``; the id."""
        ...

    def reuse_layer(
        self, parent: str | None, created_by: str, config: dict[str, Any], cache_from: Sequence[str]
    ) -> str | None:
        """A child of ``parent`` made of the next layer of one of the ``cache_from`` images,
        when that image was built from ``parent`` by the same step (``created_by``)."""
        ...

    def image_rootfs(self, image_id: str) -> contextlib.AbstractContextManager[str]:
        """A read-only view of an image's files (COPY --from)."""
        ...

    def fetch(self, url: str, directory: str) -> str:
        """Download ``url`` into ``directory``; the file's path (ADD)."""
        ...

    def is_archive(self, path: str) -> bool: ...

    def unpack(self, path: str, directory: str) -> None: ...


@dataclass
class BuildOptions:
    build_args: Mapping[str, str | None] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    pull: bool = False
    platform: str = ""
    network: str = ""
    excluded: Callable[[str], bool] | None = None  # .dockerignore, on context paths
    cache_from: Sequence[str] = ()  # images whose layers may stand in for steps
