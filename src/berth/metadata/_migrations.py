"""The schema of berth.db, as an ordered list of migrations.

``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1``; version 0 is an
empty file. A migration is only ever appended, never edited once released: a database
in the field is at some version and must reach the newest by running the rest in order.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

_V1_SNAPSHOTS = """
CREATE TABLE snapshots (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    key       TEXT    NOT NULL UNIQUE,
    parent_id INTEGER REFERENCES snapshots(id) ON DELETE RESTRICT,
    kind      TEXT    NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
    created   REAL    NOT NULL,
    updated   REAL    NOT NULL,
    labels    TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX snapshots_parent ON snapshots(parent_id);
"""

_V2_IMAGES_CONTENT = """
CREATE TABLE images (
    name       TEXT    PRIMARY KEY,
    media_type TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    size       INTEGER NOT NULL CHECK (size >= 0),
    labels     TEXT    NOT NULL DEFAULT '{}',
    created    REAL    NOT NULL,
    updated    REAL    NOT NULL
);
CREATE INDEX images_digest ON images(digest);
CREATE TABLE content (
    digest  TEXT PRIMARY KEY,
    labels  TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
"""

_V3_CONTAINERS_VOLUMES = """
CREATE TABLE containers (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    created  REAL NOT NULL,
    updated  REAL NOT NULL,
    doc      TEXT NOT NULL
);
CREATE INDEX containers_image ON containers(image_id);
CREATE TABLE volumes (
    name     TEXT PRIMARY KEY,
    driver   TEXT NOT NULL,
    created  REAL NOT NULL,
    labels   TEXT NOT NULL DEFAULT '{}',
    options  TEXT NOT NULL DEFAULT '{}',
    anonymous INTEGER NOT NULL DEFAULT 0
);
"""

_V4_NETWORKS = """
CREATE TABLE networks (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    driver  TEXT NOT NULL,
    doc     TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE ip_allocations (
    network_id TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    owner      TEXT NOT NULL,
    PRIMARY KEY (network_id, address)
);
CREATE INDEX ip_allocations_owner ON ip_allocations(owner);
"""

MIGRATIONS: list[str] = [
    _V1_SNAPSHOTS,
    _V2_IMAGES_CONTENT,
    _V3_CONTAINERS_VOLUMES,
    _V4_NETWORKS,
]
