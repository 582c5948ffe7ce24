"""Devices in a container's OCI spec: ``--device``, ``--device-cgroup-rule``,
``--privileged``'s host devices and the block devices ``--blkio-weight-device`` and
``--device-{read,write}-{bps,iops}`` name.

Two OCI fields are involved (runtime-spec config-linux.md):

- ``linux.devices`` — nodes the runtime creates in the container's ``/dev``: path in the
  container, type (``c`` char, ``b`` block, ``p`` fifo), major/minor, file mode, uid, gid;
- ``linux.resources.devices`` — the device cgroup allow list: rules applied in order, the
  last match wins. Docker starts with "deny everything", then allows the nodes every
  container has (/dev/null, zero, urandom, random, tty, console), denies fuse, and appends
  one allow rule per ``--device`` and per ``--device-cgroup-rule``. A privileged
  container gets a single "allow everything" rule (moby ``oci/defaults.go``,
  ``daemon/oci_linux.go`` WithDevices).

Host facts come through :class:`HostView` so tests can describe a /dev without root.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Any, Protocol

from berth.errdefs import InvalidArgument

__all__ = [
    "DEFAULT_DEVICE_RULES",
    "HostView",
    "OsHostView",
    "StatLike",
    "block_device_numbers",
    "cgroup_rule",
    "devices_from_path",
    "host_devices",
]


class StatLike(Protocol):
    @property
    def st_mode(self) -> int: ...
    @property
    def st_rdev(self) -> int: ...
    @property
    def st_uid(self) -> int: ...
    @property
    def st_gid(self) -> int: ...


class HostView(Protocol):
    """What the spec builder reads from the host: device nodes under /dev and the
    /proc/sys files that say whether a sysctl exists. Each raises OSError like os does."""

    def stat(self, path: str) -> StatLike: ...
    def lstat(self, path: str) -> StatLike: ...
    def realpath(self, path: str) -> str: ...
    def listdir(self, path: str) -> list[str]: ...
    def exists(self, path: str) -> bool: ...


class OsHostView:
    """The real host."""

    def stat(self, path: str) -> StatLike:
        return os.stat(path)

    def lstat(self, path: str) -> StatLike:
        return os.lstat(path)

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(path))

    def exists(self, path: str) -> bool:
        return os.path.exists(path)


def _rule(
    allow: bool, kind: str, major: int | None, minor: int | None, access: str
) -> dict[str, Any]:
    r: dict[str, Any] = {"allow": allow, "type": kind}
    if major is not None:
        r["major"] = major
    if minor is not None:
        r["minor"] = minor
    r["access"] = access
    return r


# moby oci/defaults.go: deny all, the default nodes, and fuse explicitly denied.
DEFAULT_DEVICE_RULES: tuple[dict[str, Any], ...] = (
    {"allow": False, "access": "rwm"},
    _rule(True, "c", 1, 5, "rwm"),  # /dev/zero
    _rule(True, "c", 1, 3, "rwm"),  # /dev/null
    _rule(True, "c", 1, 9, "rwm"),  # /dev/urandom
    _rule(True, "c", 1, 8, "rwm"),  # /dev/random
    _rule(True, "c", 5, 0, "rwm"),  # /dev/tty
    _rule(True, "c", 5, 1, "rwm"),  # /dev/console
    _rule(False, "c", 10, 229, "rwm"),  # /dev/fuse
)

_CGROUP_RULE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")


def cgroup_rule(text: str) -> dict[str, Any]:
    """One ``--device-cgroup-rule`` (``c 1:3 rwm``, ``a *:* m``) as an OCI allow rule;
    ``*`` becomes -1 (any). Docker's message for a malformed rule."""
    m = _CGROUP_RULE.match(text)
    if m is None:
        raise InvalidArgument(f"invalid device cgroup rule format: '{text}'")
    kind, major, minor, access = m.groups()
    return _rule(
        True, kind, -1 if major == "*" else int(major), -1 if minor == "*" else int(minor), access
    )


_SKIPPED_DIRS = ("pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev")


def _device(host: HostView, path: str) -> dict[str, Any] | None:
    """The node at ``path`` (not followed) as an OCI device, or None if not a device."""
    st = host.lstat(path)
    fmt = stat.S_IFMT(st.st_mode)
    if fmt == stat.S_IFBLK:
        kind = "b"
    elif fmt == stat.S_IFCHR:
        kind = "c"
    elif fmt == stat.S_IFIFO:
        kind = "p"
    else:
        return None
    return {
        "path": path,
        "type": kind,
        "major": os.major(st.st_rdev) if kind != "p" else 0,
        "minor": os.minor(st.st_rdev) if kind != "p" else 0,
        "fileMode": st.st_mode & ~stat.S_IFMT(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
    }


def _walk(host: HostView, top: str) -> list[str]:
    out = []
    for name in host.listdir(top):
        p = os.path.join(top, name)
        try:
            st = host.lstat(p)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            out.extend(_walk(host, p))
        else:
            out.append(p)
    return out


def devices_from_path(
    host: HostView, path_on_host: str, path_in_container: str, permissions: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``--device path_on_host:path_in_container:permissions``: the nodes to create and
    their cgroup allow rules. A directory adds every device under it (moby
    oci.DevicesFromPath); a symlink on the host is followed."""
    resolved = path_on_host
    try:
        if stat.S_ISLNK(host.lstat(path_on_host).st_mode):
            resolved = host.realpath(path_on_host)
    except OSError:
        pass
    devs: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []

    def add(dev: dict[str, Any], in_container: str) -> None:
        dev["path"] = in_container
        devs.append(dev)
        if dev["type"] != "p":  # the device cgroup knows only a, b and c
            rules.append(_rule(True, dev["type"], dev["major"], dev["minor"], permissions))

    try:
        dev = _device(host, resolved)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise InvalidArgument(
            f'error gathering device information while adding custom device "{path_on_host}": {reason}'
        ) from exc
    if dev is not None:
        add(dev, path_in_container)
        return devs, rules
    try:
        is_dir = stat.S_ISDIR(host.stat(resolved).st_mode)
    except OSError:
        is_dir = False
    if is_dir:
        for child in _walk(host, resolved):
            try:
                d = _device(host, child)
            except OSError:
                continue
            if d is not None:
                add(d, path_in_container + child[len(resolved) :])
    if not devs:
        raise InvalidArgument(
            f'error gathering device information while adding custom device "{path_on_host}": not a device node'
        )
    return devs, rules


def host_devices(host: HostView, root: str = "/dev") -> list[dict[str, Any]]:
    """Every char and block device under the host's /dev, for ``--privileged`` (runc
    devices.HostDevices: pts, shm, fd, mqueue and /dev/console are left out, fifos too)."""
    out: list[dict[str, Any]] = []
    try:
        names = host.listdir(root)
    except OSError:
        return out
    for name in names:
        p = os.path.join(root, name)
        try:
            st = host.lstat(p)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            if name not in _SKIPPED_DIRS:
                out.extend(host_devices(host, p))
            continue
        if name == "console":
            continue
        try:
            dev = _device(host, p)
        except OSError:
            continue
        if dev is not None and dev["type"] != "p":
            out.append(dev)
    return out


def block_device_numbers(host: HostView, path: str, what: str) -> tuple[int, int]:
    """Major and minor of the block device at ``path`` (followed), for the blkio limits;
    ``what`` names the option in errors."""
    try:
        st = host.stat(path)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise InvalidArgument(f"{what} {path!r}: stat {path}: {reason}") from exc
    if not stat.S_ISBLK(st.st_mode):
        raise InvalidArgument(f"{what} {path!r}: not a block device")
    return os.major(st.st_rdev), os.minor(st.st_rdev)
