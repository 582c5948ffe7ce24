"""The ``mounts`` of a container's OCI spec, in dockerd's order (moby
``oci/defaults.go`` and ``daemon/oci_linux.go`` WithMounts):

1. Docker's defaults — /proc, /dev (tmpfs), /dev/pts, /sys, /sys/fs/cgroup,
   /dev/mqueue, /dev/shm (tmpfs sized by ``--shm-size``) — minus any that a user mount
   covers (and everything under /dev when the user mounts /dev; /dev/shm when
   ``--ipc none``);
2. the container's mounts, sorted by destination depth so that a parent is mounted
   before its children: /etc/resolv.conf, /etc/hostname, /etc/hosts (bind, rprivate),
   ``--tmpfs`` and the already-resolved binds, volumes and tmpfs mounts of the caller.

Then: with a read-only rootfs the defaults other than /proc, /dev, /dev/pts, /dev/shm,
/dev/mqueue become ``ro``; privileged containers get a writable /sys, and a writable
cgroup mount as containers in a user namespace do.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from berth.errdefs import InvalidArgument

__all__ = [
    "DEFAULT_SHM_SIZE",
    "default_mounts",
    "merge_tmpfs_options",
    "network_mounts",
    "order_mounts",
    "tmpfs_mount",
]

DEFAULT_SHM_SIZE = 64 << 20

_NOSUID_NOEXEC_NODEV = ["nosuid", "noexec", "nodev"]


def default_mounts(shm_size: int) -> list[dict[str, Any]]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": list(_NOSUID_NOEXEC_NODEV)},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": [*_NOSUID_NOEXEC_NODEV, "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", *_NOSUID_NOEXEC_NODEV]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": list(_NOSUID_NOEXEC_NODEV)},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": [*_NOSUID_NOEXEC_NODEV, "mode=1777", f"size={shm_size or DEFAULT_SHM_SIZE}"]},
    ]  # fmt: skip


def network_mounts(
    resolv_conf: str, hostname: str, hosts: str, readonly: bool
) -> list[dict[str, Any]]:
    """The host files berth writes for the container, bound over the image's."""
    out = []
    for dest, src in (
        ("/etc/resolv.conf", resolv_conf),
        ("/etc/hostname", hostname),
        ("/etc/hosts", hosts),
    ):
        if src:
            opts = ["rbind", *(["ro"] if readonly else []), "rprivate"]
            out.append({"destination": dest, "type": "bind", "source": src, "options": opts})
    return out


# mount(8) flags → the flag each sets or clears; one of each survives a merge. Propagation
# modes share one key: there is only one propagation.
_FLAG_KEYS: dict[str, str] = {
    "ro": "rdonly", "rw": "rdonly", "suid": "nosuid", "nosuid": "nosuid", "dev": "nodev",
    "nodev": "nodev", "exec": "noexec", "noexec": "noexec", "sync": "sync", "async": "sync",
    "dirsync": "dirsync", "remount": "remount", "mand": "mand", "nomand": "mand",
    "atime": "noatime", "noatime": "noatime", "diratime": "nodiratime", "nodiratime": "nodiratime",
    "bind": "bind", "rbind": "rbind", "relatime": "relatime", "norelatime": "relatime",
    "strictatime": "strictatime", "nostrictatime": "strictatime",
    "unbindable": "propagation", "runbindable": "propagation", "private": "propagation",
    "rprivate": "propagation", "shared": "propagation", "rshared": "propagation",
    "slave": "propagation", "rslave": "propagation",
}  # fmt: skip
_TMPFS_DATA = ("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol")


def merge_tmpfs_options(options: list[str]) -> list[str]:
    """Tmpfs options with later ones winning, in their order (moby mount.MergeTmpfsOptions);
    an unknown option is refused with Docker's message."""
    seen: set[str] = set()
    out: list[str] = []
    for opt in reversed(options):
        if opt == "defaults":
            continue
        if opt in _FLAG_KEYS:
            key = _FLAG_KEYS[opt]
        else:
            name, eq, _ = opt.partition("=")
            if not eq or name not in _TMPFS_DATA:
                shown = " ".join(json.dumps(p) for p in opt.split("=", 1))
                raise InvalidArgument(f"invalid tmpfs option [{shown}]")
            key = "data:" + name
        if key not in seen:
            seen.add(key)
            out.insert(0, opt)
    return out


def tmpfs_mount(destination: str, data: str) -> dict[str, Any]:
    """``--tmpfs destination:data`` as Docker mounts it: noexec, nosuid, nodev, rprivate,
    then the user's options."""
    opts = [
        "noexec",
        "nosuid",
        "nodev",
        "rprivate",
        *([o for o in data.split(",") if o] if data else []),
    ]
    return {
        "destination": destination,
        "type": "tmpfs",
        "source": "tmpfs",
        "options": merge_tmpfs_options(opts),
    }


def _depth(m: dict[str, Any]) -> int:
    dest: str = m["destination"]
    return posixpath.normpath(dest).count("/")


def order_mounts(
    defaults: list[dict[str, Any]],
    container_mounts: list[dict[str, Any]],
    *,
    ipc_none: bool,
    readonly_rootfs: bool,
    sys_writable: bool,
    cgroup_writable: bool,
) -> list[dict[str, Any]]:
    """Defaults not covered by a container mount, then the container mounts by depth."""
    user_dests = {posixpath.normpath(m["destination"]) for m in container_mounts}
    dev_mounted = "/dev" in user_dests
    out: list[dict[str, Any]] = []
    for m in defaults:
        d = m["destination"]
        if d in user_dests or (dev_mounted and d.startswith("/dev/")):
            continue
        if d == "/dev/shm" and ipc_none:
            continue
        m = {**m, "options": list(m.get("options", []))}
        if readonly_rootfs and d not in ("/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"):
            if "ro" not in m["options"]:
                m["options"].append("ro")
        if (d == "/sys" and sys_writable) or (m["type"] == "cgroup" and cgroup_writable):
            m["options"] = [o for o in m["options"] if o != "ro"]
        out.append(m)
    out.extend(sorted(container_mounts, key=_depth))
    return out
