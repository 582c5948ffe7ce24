"""``docker import``: a rootfs tarball (plain, gzip, zstd, bzip2 or xz) into a one-layer
image, its config changed by Dockerfile instructions (``--change``) as dockerd's
``ImportImage`` does: ``comment`` and the history entry carry the message (``Imported
from -`` by default)."""

from __future__ import annotations

import datetime
import hashlib
import json
import shlex
import tempfile
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any

from berth.archive import decompress
from berth.content import write_blob
from berth.errdefs import InvalidArgument
from berth.images.pull import unpack
from berth.oci import mediatypes as mt
from berth.oci.digest import Digest, sha256_of
from berth.oci.image import Descriptor, Manifest, canonical_json, chain_ids
from berth.oci.reference import parse_normalized_named

if TYPE_CHECKING:
    from berth.images.service import ImageService

__all__ = ["CHANGE_COMMANDS", "apply_changes", "import_image"]

_CHUNK = 1 << 20
CHANGE_COMMANDS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "USER", "VOLUME", "WORKDIR", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK")
_SUPPORTED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "USER", "VOLUME", "WORKDIR", "ONBUILD", "STOPSIGNAL")


def _json_or_shell(rest: str, shell: bool) -> list[str]:
    if rest.startswith("["):
        try:
            v = json.loads(rest)
        except ValueError:
            v = None
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return v
    return ["/bin/sh", "-c", rest] if shell else shlex.split(rest)


def _pairs(rest: str, what: str) -> list[tuple[str, str]]:
    words = shlex.split(rest)
    if not words:
        raise InvalidArgument(f"{what} requires at least one argument")
    if "=" not in words[0]:
        # legacy form: ENV key value...
        key, _, value = rest.strip().partition(" ")
        return [(key, value.strip())]
    out = []
    for w in words:
        k, eq, v = w.partition("=")
        if not eq or not k:
            raise InvalidArgument(f"{what} names can not be blank: {w}")
        out.append((k, v))
    return out


def apply_changes(config: dict[str, Any], changes: Sequence[str]) -> None:
    """Apply Dockerfile instructions to an image's ``config`` (Docker's keys)."""
    for change in changes:
        change = change.strip()
        if not change:
            continue
        cmd, _, rest = change.partition(" ")
        cmd = cmd.upper()
        rest = rest.strip()
        if cmd not in _SUPPORTED:
            raise InvalidArgument(f"{cmd} is not a valid change command")
        if cmd in ("CMD", "ENTRYPOINT"):
            config["Cmd" if cmd == "CMD" else "Entrypoint"] = _json_or_shell(rest, True)
            if cmd == "ENTRYPOINT":
                config["Cmd"] = None
        elif cmd == "ENV":
            env = list(config.get("Env") or [])
            for k, v in _pairs(rest, "ENV"):
                env = [e for e in env if e.partition("=")[0] != k] + [f"{k}={v}"]
            config["Env"] = env
        elif cmd == "LABEL":
            labels = dict(config.get("Labels") or {})
            labels.update(_pairs(rest, "LABEL"))
            config["Labels"] = labels
        elif cmd == "EXPOSE":
            ports = dict(config.get("ExposedPorts") or {})
            for p in rest.split():
                port, _, proto = p.partition("/")
                if not port or not all(c.isdigit() or c == "-" for c in port):
                    raise InvalidArgument(f"invalid containerPort: {port}")
                ports[f"{port}/{proto or 'tcp'}"] = {}
            config["ExposedPorts"] = ports
        elif cmd == "VOLUME":
            vols = dict(config.get("Volumes") or {})
            for v in _json_or_shell(rest, False):
                if not v:
                    raise InvalidArgument("VOLUME specified can not be an empty string")
                vols[v] = {}
            config["Volumes"] = vols
        elif cmd == "USER":
            config["User"] = rest
        elif cmd == "WORKDIR":
            config["WorkingDir"] = rest
        elif cmd == "ONBUILD":
            config["OnBuild"] = [*(config.get("OnBuild") or []), rest]
        elif cmd == "STOPSIGNAL":
            config["StopSignal"] = rest


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def import_image(
    svc: ImageService,
    body: IO[bytes],
    repo: str = "",
    tag: str = "",
    changes: Sequence[str] = (),
    message: str = "",
    src: str = "-",
    emit: Callable[[str], None] | None = None,
) -> Digest:
    """Import the tarball ``body`` as an image named ``repo:tag`` (no name: dangling);
    returns its id. On an error nothing the import stored is kept."""
    name = ""
    if repo:
        ref = parse_normalized_named(repo)
        if ref.digest is not None:
            raise InvalidArgument("cannot import digest reference")
        if tag:
            ref = ref.with_tag(tag)
        name = str(ref.tag_name_only())
    config: dict[str, Any] = {}
    apply_changes(config, changes)
    try:
        with svc._lease() as held:
            with tempfile.TemporaryFile() as tmp:
                h = hashlib.sha256()
                plain, _ = decompress(body)
                while chunk := plain.read(_CHUNK):
                    h.update(chunk)
                    tmp.write(chunk)
                size = tmp.tell()
                diff_id = Digest(f"sha256:{h.hexdigest()}")
                tmp.seek(0)
                write_blob(svc.store, f"import-{diff_id}", tmp, size=size, expected=diff_id)
            held.add(str(diff_id))
            created = _now()
            msg = message or f"Imported from {src}"
            plat = svc.platform
            image: dict[str, Any] = {
                "architecture": plat.architecture,
                "comment": msg,
                "config": config,
                "created": created,
                "history": [{"created": created, "comment": msg}],
                "os": plat.os,
                "rootfs": {"type": "layers", "diff_ids": [str(diff_id)]},
            }
            if plat.variant:
                image["variant"] = plat.variant
            raw = canonical_json(image)
            cfg = sha256_of(raw)
            write_blob(svc.store, f"import-{cfg}", raw, size=len(raw), expected=cfg)
            held.add(str(cfg))
            man = Manifest(
                mt.OCI_MANIFEST,
                Descriptor(mt.OCI_CONFIG, cfg, len(raw)),
                (Descriptor(mt.OCI_LAYER, diff_id, size),),
            )
            man_raw = canonical_json(man.to_dict())
            man_digest = sha256_of(man_raw)
            write_blob(svc.store, f"import-{man_digest}", man_raw, size=len(man_raw), expected=man_digest)
            held.add(str(man_digest))
            held.update(str(c) for c in chain_ids([diff_id]))
            unpack(svc.store, svc.sn, man, lambda ev: None, announced=False)
            target = Descriptor(mt.OCI_MANIFEST, man_digest, len(man_raw))
            with svc._lock:
                svc._record(name or str(cfg), target)
    except BaseException:
        svc.gc()
        raise
    if emit is not None:
        emit(str(cfg))
    return cfg


