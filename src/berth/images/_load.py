"""Reading an image back from the content store: target → manifest → config."""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass
from typing import Any

from berth.content import Provider
from berth.errdefs import BerthError, NotFound
from berth.oci.digest import Digest
from berth.oci.image import (
    Descriptor,
    Image,
    Index,
    Manifest,
    chain_ids,
    parse_image,
    parse_manifest_or_index,
    select_manifest,
)
from berth.oci.platform import Platform

__all__ = ["Loaded", "load", "reachable", "unix_seconds"]


@dataclass(frozen=True)
class Loaded:
    target: Descriptor
    manifest: Manifest
    image: Image
    raw_config: dict[str, Any]

    @property
    def id(self) -> Digest:
        return self.manifest.config.digest


def load(store: Provider, target: Descriptor, platform: Platform) -> Loaded:
    """The image a name's ``target`` stands for on ``platform``; NotFound when a blob it
    needs is not in the store."""
    desc = target
    for _ in range(3):
        obj = parse_manifest_or_index(store.read_blob(desc.digest), desc.media_type)
        if isinstance(obj, Manifest):
            data = store.read_blob(obj.config.digest)
            return Loaded(target, obj, parse_image(data), json.loads(data))
        assert isinstance(obj, Index)
        desc = select_manifest(obj, platform)
    raise NotFound(f"image {target.digest}: index nested too deeply")


def reachable(store: Provider, target: Descriptor) -> tuple[set[Digest], list[Digest]]:
    """The blobs ``target`` keeps (those present) and the layer diff_id lists of every
    manifest of it found in the store."""
    blobs: set[Digest] = set()
    diff_lists: list[list[Digest]] = []
    todo = [target]
    while todo:
        d = todo.pop()
        blobs.add(d.digest)
        try:
            obj = parse_manifest_or_index(store.read_blob(d.digest), d.media_type)
        except BerthError:
            continue
        if isinstance(obj, Index):
            todo.extend(obj.manifests)
            continue
        assert isinstance(obj, Manifest)
        blobs.add(obj.config.digest)
        blobs.update(layer.digest for layer in obj.layers)
        try:
            img = parse_image(store.read_blob(obj.config.digest))
        except BerthError:
            continue
        diff_lists.append(list(img.rootfs.diff_ids))
    chains: list[Digest] = []
    for dl in diff_lists:
        chains.extend(chain_ids(dl))
    return blobs, chains


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|z|[+-]\d\d:\d\d)?")


def unix_seconds(created: str) -> int:
    """An image config's ``created`` (RFC 3339) as unix seconds; 0 when absent or odd."""
    m = _RFC3339.match(created or "")
    if not m:
        return 0
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    t = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    zone = m.group(7)
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        t -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return t
