"""Image references and content labels: the ``images`` and ``content`` tables.

An **image ref** is a name (a normalised reference such as
``docker.io/library/busybox:latest``, or ``name@sha256:…`` for a pull by digest) pointing
at a **target** descriptor — an index or a manifest in the content store. Tagging writes
a row, untagging deletes one; the blobs stay until garbage collection finds nothing that
refers to them.

**Content labels** hang off a blob's digest and are how the collector walks the store,
as containerd's are: ``berth.gc.root`` marks a blob kept for its own sake;
``berth.gc.ref.content.<n>`` / ``berth.gc.ref.snapshot.overlay`` point from a blob to
what it keeps alive. This module stores them; the rules are the image store's.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from berth.errdefs import InvalidArgument, NotFound
from berth.metadata._errors import translated
from berth.oci.digest import Digest
from berth.oci.image import Descriptor

__all__ = ["ContentRecord", "ImageRecord", "ImagesTx"]


@dataclass(frozen=True)
class ImageRecord:
    name: str
    target: Descriptor
    created: float
    updated: float
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContentRecord:
    digest: Digest
    labels: Mapping[str, str]
    created: float
    updated: float


def _image(row: tuple[object, ...]) -> ImageRecord:
    name, media_type, digest, size, labels, created, updated = row
    return ImageRecord(
        name=str(name),
        target=Descriptor(str(media_type), Digest(str(digest)), int(size)),  # type: ignore[call-overload]
        created=float(created),  # type: ignore[arg-type]
        updated=float(updated),  # type: ignore[arg-type]
        labels=json.loads(str(labels)),
    )


_IMAGE_COLS = "name, media_type, digest, size, labels, created, updated"


class ImagesTx:
    """Image refs and content labels inside one open transaction."""

    def __init__(self, conn: sqlite3.Connection, now: float) -> None:
        self._conn = conn
        self._now = now

    # -- image refs ------------------------------------------------------------------

    def put_image(
        self, name: str, target: Descriptor, labels: Mapping[str, str] | None = None
    ) -> ImageRecord:
        """Create or move the ref ``name``; ``created`` is kept when it already exists."""
        if not name:
            raise InvalidArgument("image name: empty")
        with translated(f"put image {name!r}"):
            self._conn.execute(
                f"INSERT INTO images ({_IMAGE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET media_type = excluded.media_type, "
                "digest = excluded.digest, size = excluded.size, labels = excluded.labels, "
                "updated = excluded.updated",
                (
                    name,
                    target.media_type,
                    str(target.digest),
                    target.size,
                    _json(labels or {}),
                    self._now,
                    self._now,
                ),
            )
        return self.get_image(name)

    def get_image(self, name: str) -> ImageRecord:
        with translated(f"image {name!r}"):
            row = self._conn.execute(
                f"SELECT {_IMAGE_COLS} FROM images WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            raise NotFound(f"image {name!r}: not found")
        return _image(row)

    def list_images(self, digest: str | None = None) -> list[ImageRecord]:
        """Every ref, by name; only those pointing at ``digest`` when it is given."""
        with translated("list images"):
            if digest is None:
                rows = self._conn.execute(f"SELECT {_IMAGE_COLS} FROM images ORDER BY name")
            else:
                rows = self._conn.execute(
                    f"SELECT {_IMAGE_COLS} FROM images WHERE digest = ? ORDER BY name", (digest,)
                )
            return [_image(r) for r in rows.fetchall()]

    def delete_image(self, name: str) -> ImageRecord:
        rec = self.get_image(name)
        with translated(f"delete image {name!r}"):
            self._conn.execute("DELETE FROM images WHERE name = ?", (name,))
        return rec

    # -- content labels ----------------------------------------------------------------

    def set_content_labels(self, digest: str, labels: Mapping[str, str]) -> ContentRecord:
        """Replace the labels of ``digest``."""
        d = Digest(digest)
        with translated(f"label content {d}"):
            self._conn.execute(
                "INSERT INTO content (digest, labels, created, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(digest) DO UPDATE SET labels = excluded.labels, "
                "updated = excluded.updated",
                (str(d), _json(labels), self._now, self._now),
            )
        return self.get_content(d)

    def get_content(self, digest: str) -> ContentRecord:
        with translated(f"content {digest}"):
            row = self._conn.execute(
                "SELECT digest, labels, created, updated FROM content WHERE digest = ?",
                (str(digest),),
            ).fetchone()
        if row is None:
            raise NotFound(f"content {digest}: no labels")
        return _content(row)

    def list_content(self) -> list[ContentRecord]:
        with translated("list content"):
            rows = self._conn.execute(
                "SELECT digest, labels, created, updated FROM content ORDER BY digest"
            ).fetchall()
        return [_content(r) for r in rows]

    def delete_content(self, digest: str) -> None:
        with translated(f"delete content {digest}"):
            self._conn.execute("DELETE FROM content WHERE digest = ?", (str(digest),))


def _content(row: tuple[object, ...]) -> ContentRecord:
    digest, labels, created, updated = row
    return ContentRecord(
        digest=Digest(str(digest)),
        labels=json.loads(str(labels)),
        created=float(created),  # type: ignore[arg-type]
        updated=float(updated),  # type: ignore[arg-type]
    )


def _json(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"))
