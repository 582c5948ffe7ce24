"""``docker commit``'s config: the container's Config as an image config, the request's
Config and ``--change`` instructions merged over it (moby ``daemon/commit.go``).

The new image's ``config`` starts from the request's Config (the container's when the
request has none), gets the ``changes`` (Dockerfile instructions, :func:`berth.images.
importer.apply_changes`) applied, and is then completed from the container's Config by
moby's ``merge``: what the request left empty (user, working dir, stop signal, command
when there is no entrypoint) is taken over, environment variables, labels, exposed ports
and volumes are added where the request does not name them. Keys are Docker's Config
keys, the image config format's own.

The layer is the container's upper directory as a tar (:func:`berth.archive.diff`),
less the runtime's mount points (:data:`~berth.engine.containers.changes.INIT_PATHS`),
which Docker keeps in the container's init layer and never commits.
"""

from __future__ import annotations

import tarfile
from typing import IO, Any

from berth.engine.containers.changes import INIT_PATHS
from berth.engine.containers.model import ContainerConfig, HealthConfig

__all__ = ["image_config", "merge_config", "strip_init_paths"]

_BLOCK = 512


def _health(h: HealthConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"Test": list(h.test)}
    for key, value in (
        ("Interval", h.interval),
        ("Timeout", h.timeout),
        ("StartPeriod", h.start_period),
        ("StartInterval", h.start_interval),
        ("Retries", h.retries),
    ):
        if value:
            out[key] = value
    return out


def image_config(cc: ContainerConfig) -> dict[str, Any]:
    """The container's Config as Docker writes it into an image config."""
    out: dict[str, Any] = {
        "Hostname": cc.hostname,
        "Domainname": cc.domainname,
        "User": cc.user,
        "AttachStdin": cc.attach_stdin,
        "AttachStdout": cc.attach_stdout,
        "AttachStderr": cc.attach_stderr,
    }
    if cc.exposed_ports:
        out["ExposedPorts"] = {p: {} for p in cc.exposed_ports}
    out.update(
        {
            "Tty": cc.tty,
            "OpenStdin": cc.open_stdin,
            "StdinOnce": cc.stdin_once,
            "Env": list(cc.env) or None,
            "Cmd": list(cc.cmd) if cc.cmd is not None else None,
        }
    )
    if cc.healthcheck is not None:
        out["Healthcheck"] = _health(cc.healthcheck)
    if cc.args_escaped:
        out["ArgsEscaped"] = True
    out.update(
        {
            "Image": cc.image,
            "Volumes": {v: {} for v in cc.volumes} or None,
            "WorkingDir": cc.working_dir,
            "Entrypoint": list(cc.entrypoint) if cc.entrypoint is not None else None,
            "OnBuild": list(cc.on_build) if cc.on_build is not None else None,
            "Labels": dict(cc.labels),
        }
    )
    if cc.stop_signal:
        out["StopSignal"] = cc.stop_signal
    if cc.stop_timeout is not None:
        out["StopTimeout"] = cc.stop_timeout
    if cc.shell:
        out["Shell"] = list(cc.shell)
    return out


def merge_config(user: dict[str, Any], image: dict[str, Any]) -> None:
    """moby's ``merge(userConf, imageConf)``: complete ``user`` from ``image`` in place."""
    if not user.get("User"):
        user["User"] = image.get("User", "")
    ports = dict(user.get("ExposedPorts") or {})
    for p in image.get("ExposedPorts") or {}:
        ports.setdefault(p, {})
    if ports:
        user["ExposedPorts"] = ports
    env = list(user.get("Env") or [])
    if not env:
        env = list(image.get("Env") or [])
    else:
        keys = {e.partition("=")[0] for e in env}
        env += [e for e in image.get("Env") or [] if e.partition("=")[0] not in keys]
    user["Env"] = env or None
    labels = dict(user.get("Labels") or {})
    for k, v in (image.get("Labels") or {}).items():
        labels.setdefault(k, v)
    user["Labels"] = labels
    if not user.get("Entrypoint"):
        if not user.get("Cmd"):
            user["Cmd"] = image.get("Cmd")
            if image.get("ArgsEscaped"):
                user["ArgsEscaped"] = True
        if user.get("Entrypoint") is None:
            user["Entrypoint"] = image.get("Entrypoint")
    if image.get("Healthcheck") and not user.get("Healthcheck"):
        user["Healthcheck"] = image["Healthcheck"]
    if not user.get("WorkingDir"):
        user["WorkingDir"] = image.get("WorkingDir", "")
    vols = dict(user.get("Volumes") or {})
    vols.update(image.get("Volumes") or {})
    user["Volumes"] = vols or None
    if not user.get("StopSignal") and image.get("StopSignal"):
        user["StopSignal"] = image["StopSignal"]


def strip_init_paths(src: IO[bytes], dst: IO[bytes], skip: frozenset[str] = INIT_PATHS) -> None:
    """Copy the tar ``src`` (seekable) to ``dst`` without the entries at or below
    ``skip``; the entries kept are copied byte for byte, so the layer stays as
    :func:`berth.archive.diff` made it."""
    src.seek(0)
    with tarfile.open(fileobj=src, mode="r:") as tar:
        spans = []
        for ti in tar.getmembers():
            path = "/" + ti.name.strip("/")
            if path in skip or any(path.startswith(p + "/") for p in skip):
                continue
            size = -(-ti.size // _BLOCK) * _BLOCK if ti.isreg() else 0
            spans.append((ti.offset, ti.offset_data + size))
    for start, end in spans:
        src.seek(start)
        left = end - start
        while left:
            chunk = src.read(min(left, 1 << 20))
            if not chunk:
                break
            dst.write(chunk)
            left -= len(chunk)
    dst.write(b"\0" * (2 * _BLOCK))
