"""Media types of image content: OCI image-spec (media-types.md) and Docker's schema2.

A registry or an image layout serves the same kinds of object under two families of
names; berth reads both and writes OCI unless it copies an existing Docker manifest:

=========================  =====================================================  =====================================================
kind                       OCI                                                    Docker schema2
=========================  =====================================================  =====================================================
index / manifest list      application/vnd.oci.image.index.v1+json                application/vnd.docker.distribution.manifest.list.v2+json
manifest                   application/vnd.oci.image.manifest.v1+json             application/vnd.docker.distribution.manifest.v2+json
image config               application/vnd.oci.image.config.v1+json               application/vnd.docker.container.image.v1+json
layer, gzip                application/vnd.oci.image.layer.v1.tar+gzip            application/vnd.docker.image.rootfs.diff.tar.gzip
layer, zstd                application/vnd.oci.image.layer.v1.tar+zstd            —
layer, uncompressed        application/vnd.oci.image.layer.v1.tar                 (application/vnd.docker.image.rootfs.diff.tar)
=========================  =====================================================  =====================================================

Docker's schema1 manifests (``…manifest.v1+json``, ``…v1+prettyjws``) were removed from
Docker itself; they are recognised only to refuse them with a clear message.
"""

from __future__ import annotations

from berth.errdefs import InvalidArgument

__all__ = [
    "ACCEPT_MANIFESTS",
    "DOCKER_CONFIG",
    "DOCKER_FOREIGN_LAYER_GZIP",
    "DOCKER_LAYER",
    "DOCKER_LAYER_GZIP",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "DOCKER_PLUGIN_CONFIG",
    "DOCKER_SCHEMA1_MANIFEST",
    "DOCKER_SCHEMA1_SIGNED_MANIFEST",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE",
    "OCI_LAYER_NONDISTRIBUTABLE_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE_ZSTD",
    "OCI_LAYER_ZSTD",
    "OCI_LAYOUT_VERSION",
    "OCI_MANIFEST",
    "is_config",
    "is_index",
    "is_layer",
    "is_manifest",
    "is_schema1",
    "layer_compression",
]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
OCI_LAYOUT_VERSION = "1.0.0"

DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_SCHEMA1_MANIFEST = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED_MANIFEST = "application/vnd.docker.distribution.manifest.v1+prettyjws"

# The Accept header of a manifest GET: indexes first so that a multi-platform image
# resolves to its list, not to whatever the registry picks.
ACCEPT_MANIFESTS = (
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
)

_LAYERS: dict[str, str | None] = {
    OCI_LAYER: None,
    OCI_LAYER_GZIP: "gzip",
    OCI_LAYER_ZSTD: "zstd",
    OCI_LAYER_NONDISTRIBUTABLE: None,
    OCI_LAYER_NONDISTRIBUTABLE_GZIP: "gzip",
    OCI_LAYER_NONDISTRIBUTABLE_ZSTD: "zstd",
    DOCKER_LAYER: None,
    DOCKER_LAYER_GZIP: "gzip",
    DOCKER_FOREIGN_LAYER_GZIP: "gzip",
}


def is_index(media_type: str) -> bool:
    return media_type in (OCI_INDEX, DOCKER_MANIFEST_LIST)


def is_manifest(media_type: str) -> bool:
    return media_type in (OCI_MANIFEST, DOCKER_MANIFEST)


def is_config(media_type: str) -> bool:
    return media_type in (OCI_CONFIG, DOCKER_CONFIG)


def is_schema1(media_type: str) -> bool:
    return media_type in (DOCKER_SCHEMA1_MANIFEST, DOCKER_SCHEMA1_SIGNED_MANIFEST)


def is_layer(media_type: str) -> bool:
    return media_type in _LAYERS


def layer_compression(media_type: str) -> str | None:
    """``"gzip"``, ``"zstd"`` or None (a plain tar) for a layer media type."""
    try:
        return _LAYERS[media_type]
    except KeyError:
        raise InvalidArgument(f"unknown layer media type: {media_type!r}") from None
