"""The ``local`` volume driver: a directory per volume, optionally a mount on it.

Without options a volume is the plain directory ``<root>/volumes/<name>/_data``. With
Docker's ``local`` driver options it is a filesystem mounted on that directory while a
container uses it (moby ``volume/local``), mount(8) style:

- ``type``   the filesystem type (``tmpfs``, ``nfs``, ``none`` for a bind …)
- ``device`` what to mount (``tmpfs``, ``/srv/data`` …)
- ``o``      comma-separated mount options; flag words (``bind``, ``ro``, ``nosuid`` …)
  become mount(2) flags, the rest its data (``size=64m,uid=1000``)

``docker volume create -o type=none -o o=bind -o device=/srv/x v`` is thus a bind mount
of ``/srv/x``, ``-o type=tmpfs -o device=tmpfs`` a tmpfs. The mount is made on the
first :meth:`LocalDriver.mount` and taken off with the last :meth:`LocalDriver.unmount`:
references are counted per user (a container id), so a container that mounts twice
still holds one reference.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
from collections.abc import Mapping

from berth.errdefs import Conflict, InvalidArgument, from_oserror
from berth.linux import syscalls as sc
from berth.snapshots import Mount, mount_all

__all__ = ["VALID_OPTIONS", "LocalDriver", "mount_spec", "mounts_under", "validate_options"]

VALID_OPTIONS = ("type", "device", "o")
DIR_MODE = 0o755  # /var/lib/docker/volumes/<name> and its _data are 0755, owned by root


def validate_options(options: Mapping[str, str]) -> None:
    """InvalidArgument for what moby's local driver refuses at create time."""
    for key in options:
        if key == "size":
            raise InvalidArgument("quota size requested but no quota support")
        if key not in VALID_OPTIONS:
            raise InvalidArgument(f'invalid option: "{key}"')
    if not options:
        return
    if not options.get("type"):
        raise InvalidArgument('missing required option: "type"')
    if not options.get("device"):
        raise InvalidArgument('missing required option: "device"')


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as ``\\ooo`` octal."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts_under(path: str, mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """Mount points at or below ``path``, deepest first. ``os.path.ismount`` cannot
    tell: a bind mount from the same filesystem has its parent's device number."""
    path = os.path.realpath(path)
    prefix = path.rstrip("/") + "/"
    found: list[str] = []
    try:
        with open(mountinfo, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                fields = line.split(" ", 5)
                if len(fields) > 4:
                    target = _unescape(fields[4])
                    if target == path or target.startswith(prefix):
                        found.append(target)
    except FileNotFoundError:
        return []
    return sorted(found, key=len, reverse=True)


def mount_spec(options: Mapping[str, str]) -> Mount | None:
    """The mount a volume's options describe, None for a plain directory."""
    if not options.get("type") and not options.get("device"):
        return None
    words = tuple(w for w in options.get("o", "").split(",") if w)
    fstype = options.get("type", "")
    if any(w in ("bind", "rbind") for w in words):
        fstype = "bind"
    return Mount(fstype, options.get("device", ""), words)


class LocalDriver:
    """Directories under ``<root>/volumes`` and the mounts made on them."""

    name = "local"

    def __init__(self, root: str, syscalls: sc.Syscalls | None = None) -> None:
        self.base = os.path.join(root, "volumes")
        self._sys = syscalls
        self._lock = threading.Lock()
        self._refs: dict[str, set[str]] = {}

    def path(self, name: str) -> str:
        """The volume's directory (``<root>/volumes/<name>``)."""
        return os.path.join(self.base, name)

    def data(self, name: str) -> str:
        """The mountpoint, ``<root>/volumes/<name>/_data``."""
        return os.path.join(self.base, name, "_data")

    def create(self, name: str) -> str:
        data = self.data(name)
        try:
            os.makedirs(self.base, mode=0o700, exist_ok=True)
            os.makedirs(self.path(name), mode=DIR_MODE, exist_ok=True)
            os.makedirs(data, mode=DIR_MODE, exist_ok=True)
            os.chmod(self.path(name), DIR_MODE)  # makedirs' mode is masked by the umask
            os.chmod(data, DIR_MODE)
        except OSError as exc:
            raise from_oserror(f"create volume {name!r} at {data!r}", exc) from exc
        return data

    def remove(self, name: str) -> None:
        """Delete the directory. Whatever is still mounted in it (a crash may leave a
        volume's tmpfs or bind mounted) is unmounted first, and removal is refused if
        something stays: deleting through a bind mount would delete its source."""
        path = self.path(name)
        with self._lock:
            self._refs.pop(name, None)
        if not os.path.exists(path):
            return
        for target in mounts_under(path):
            self._umount(target)
        left = mounts_under(path)
        if left:
            raise Conflict(f"remove volume {name!r}: {left[0]!r} is still mounted")
        try:
            shutil.rmtree(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise from_oserror(f"remove volume {name!r} at {path!r}", exc) from exc

    def mount(self, name: str, options: Mapping[str, str], ref: str) -> str:
        """The host path to mount into a container, mounting the volume's filesystem
        for its first user."""
        data = self.data(name)
        spec = mount_spec(options)
        with self._lock:
            users = self._refs.setdefault(name, set())
            if spec is not None and not users:
                try:
                    mount_all([spec], data, self._sys)
                except BaseException:
                    self._refs.pop(name, None)
                    raise
            users.add(ref)
        return data

    def unmount(self, name: str, options: Mapping[str, str], ref: str) -> None:
        """Drop ``ref``'s reference; the last one takes the filesystem off."""
        spec = mount_spec(options)
        with self._lock:
            users = self._refs.get(name)
            if users is None or ref not in users:
                return
            users.discard(ref)
            if users:
                return
            del self._refs[name]
            if spec is not None:
                self._umount(self.data(name))

    def _umount(self, target: str) -> None:
        """Take the one mount the driver made off ``target``; lazily (MNT_DETACH) when a
        process still holds it busy, as the container using it is already gone."""
        sys_ = self._sys if self._sys is not None else sc.default()
        try:
            sys_.umount2(target, 0)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOENT):
                return  # not mounted (any more)
            if exc.errno != errno.EBUSY:
                raise from_oserror(f"unmount {target!r}", exc) from exc
            try:
                sys_.umount2(target, sc.MNT_DETACH)
            except OSError as exc2:
                raise from_oserror(f"unmount {target!r}", exc2) from exc2

    def mounted_by(self, name: str) -> list[str]:
        """The refs holding ``name`` mounted, sorted."""
        with self._lock:
            return sorted(self._refs.get(name, ()))
