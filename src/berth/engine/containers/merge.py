"""The image's defaults merged into a container's config, and the process it runs.

At ``create`` Docker fills what the user left unset from the image config (moby
``daemon/commit.go`` ``merge``); the container keeps the merged result, so ``inspect``
shows the image's ``Env``, ``Cmd``, ``Labels``… on the container. The rules, field by field:

- ``user``, ``working_dir``, ``stop_signal``: the user's value, else the image's.
- ``env``: the user's entries in their order, then each image entry whose key the user
  did not set (so ``-e PATH=…`` replaces the image's ``PATH``).
- ``exposed_ports``, ``volumes``: the union, the user's first.
- ``labels``: the image's, then the user's on top.
- ``entrypoint``/``cmd``: when the user gives an entrypoint, the image's cmd is dropped
  (``--entrypoint sh img`` runs ``sh`` alone); when the user gives neither, both come from
  the image. An explicit empty entrypoint ``[]`` resets the image's entrypoint but keeps
  its cmd unless the user gave one; ``[""]`` (``--entrypoint ""``) keeps neither, so
  without a user cmd it is ``No command specified`` (dockerd 20.10, checked by
  tests/oracle/test_container_parity.py).
- ``healthcheck``: an unset user healthcheck takes the image's; a set one takes the
  image's value for each field left empty (test) or zero (durations, retries).
- ``on_build``, ``shell``, ``stop_timeout``: the user's when set, else the image's.

The process is ``path`` = first word of entrypoint + cmd, ``args`` the rest (moby
``getEntrypointAndArgs``). Its environment starts from Docker's defaults (``PATH``,
``HOSTNAME``, ``TERM=xterm`` under a tty) that the config's ``env`` overrides by key
(moby ``container.CreateDaemonEnvironment``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from berth import errdefs
from berth.engine.containers.model import ContainerConfig, HealthConfig
from berth.oci.image import ImageConfig

__all__ = [
    "DEFAULT_PATH",
    "default_env",
    "merge_image_config",
    "process_args",
    "replace_or_append_env",
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _env_key(entry: str) -> str:
    return entry.split("=", 1)[0]


def _union(first: list[str], second: tuple[str, ...] | list[str]) -> list[str]:
    out = list(dict.fromkeys(first))
    seen = set(out)
    for item in second:
        if item not in seen:
            out.append(item)
            seen.add(item)
    return out


def _merge_env(user: list[str], image: tuple[str, ...]) -> list[str]:
    if not user:
        return list(image)
    keys = {_env_key(e) for e in user}
    return list(user) + [e for e in image if _env_key(e) not in keys]


def _health_from_image(raw: Mapping[str, Any]) -> HealthConfig:
    """The image config's ``Healthcheck`` (Docker's wire names) as a :class:`HealthConfig`."""

    def num(key: str) -> int:
        value = raw.get(key, 0)
        return int(value) if isinstance(value, int | float) else 0

    test = raw.get("Test") or []
    return HealthConfig(
        test=[str(t) for t in test] if isinstance(test, list | tuple) else [],
        interval=num("Interval"),
        timeout=num("Timeout"),
        start_period=num("StartPeriod"),
        start_interval=num("StartInterval"),
        retries=num("Retries"),
    )


def _merge_health(user: HealthConfig | None, image: HealthConfig | None) -> HealthConfig | None:
    if image is None:
        return user
    if user is None:
        return image
    return HealthConfig(
        test=user.test or list(image.test),
        interval=user.interval or image.interval,
        timeout=user.timeout or image.timeout,
        start_period=user.start_period or image.start_period,
        start_interval=user.start_interval or image.start_interval,
        retries=user.retries or image.retries,
    )


def merge_image_config(config: ContainerConfig, image: ImageConfig) -> ContainerConfig:
    """A new config: ``config`` with what it leaves unset taken from ``image``."""
    out = copy.deepcopy(config)
    if not out.user:
        out.user = image.user
    out.exposed_ports = _union(out.exposed_ports, image.exposed_ports)
    out.env = _merge_env(out.env, image.env)
    out.labels = {**dict(image.labels), **out.labels}

    reset = out.entrypoint == [""]  # --entrypoint "": dockerd runs nothing of the image
    if reset:
        out.entrypoint = []
    if not out.entrypoint:
        if not out.cmd and not reset:
            out.cmd = list(image.cmd) if image.cmd is not None else None
            out.args_escaped = image.args_escaped
        if out.entrypoint is None:
            out.entrypoint = list(image.entrypoint) if image.entrypoint is not None else None

    image_health = _health_from_image(image.healthcheck) if image.healthcheck is not None else None
    out.healthcheck = _merge_health(out.healthcheck, image_health)

    if not out.working_dir:
        out.working_dir = image.working_dir
    out.volumes = _union(out.volumes, image.volumes)
    if not out.stop_signal:
        out.stop_signal = image.stop_signal
    if out.on_build is None and image.on_build is not None:
        out.on_build = list(image.on_build)
    if out.shell is None and image.shell is not None:
        out.shell = list(image.shell)
    if out.stop_timeout is None:
        out.stop_timeout = image.stop_timeout
    return out


def process_args(config: ContainerConfig) -> tuple[str, list[str]]:
    """``(path, args)`` of the container's process: entrypoint + cmd, split at the first
    word. Nothing to run is Docker's ``No command specified``."""
    entrypoint = [] if config.entrypoint == [""] else list(config.entrypoint or [])
    argv = entrypoint + list(config.cmd or [])
    if not argv:
        raise errdefs.InvalidArgument("No command specified")
    return argv[0], argv[1:]


def replace_or_append_env(base: list[str], extra: list[str]) -> list[str]:
    """``base`` with each of ``extra`` replacing the entry of its name or appended; a bare
    ``NAME`` (no ``=``) removes it (moby's ``ReplaceOrAppendEnvValues``)."""
    env: list[str | None] = list(base)
    index = {_env_key(e): i for i, e in enumerate(base)}
    for entry in extra:
        key = _env_key(entry)
        if key in index:
            env[index[key]] = entry if "=" in entry else None
        elif "=" in entry:
            index[key] = len(env)
            env.append(entry)
    return [e for e in env if e is not None]


def default_env(config: ContainerConfig) -> list[str]:
    """The process environment: Docker's defaults, replaced or extended by ``config.env``."""
    env = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={config.hostname}"]
    if config.tty:
        env.append("TERM=xterm")
    return replace_or_append_env(env, config.env)
