"""The container's filesystem: mounts, devices, pivot_root, masked and read-only paths.

The sequence, in the container's new mount namespace (runc's prepareRootfs and
finalizeRootfs; mount(2), pivot_root(2), mount_namespaces(7)):

1. make ``/`` rslave (or ``linux.rootfsPropagation``) so nothing we do reaches the host;
2. bind the rootfs onto itself, so it is a mount point pivot_root accepts;
3. each ``mounts[]`` entry in order, its destination resolved inside the rootfs
   (:func:`berth.linux.fs.resolve_in_root` refuses one that escapes through a symlink);
4. device nodes and the /dev symlinks, unless /dev is bind-mounted from the host;
5. (the caller runs the prestart/createRuntime/createContainer hooks here)
6. pivot_root(".", ".") and a lazy unmount of the old root stacked on top — no temporary
   directory needed; or, with ``--no-pivot``, MS_MOVE + chroot;
7. after the caller has set the hostname and sysctls: read-only paths, masked paths, then
   a read-only root.

Every kernel call goes through a :class:`~berth.linux.syscalls.Syscalls`, so the order is
unit-tested with the recording fake.
"""

from __future__ import annotations

import errno
import os
import stat

from berth.errdefs import InvalidArgument
from berth.linux import syscalls as S
from berth.linux.fs import mkdir_all_in_root, resolve_in_root, touch_in_root

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.linux.syscalls import Syscalls

__all__ = ["finalize", "parse_options", "pivot", "prepare"]

_FLAGS = {
    # name: (clear?, flag)
    "ro": (False, S.MS_RDONLY), "rw": (True, S.MS_RDONLY),
    "nosuid": (False, S.MS_NOSUID), "suid": (True, S.MS_NOSUID),
    "nodev": (False, S.MS_NODEV), "dev": (True, S.MS_NODEV),
    "noexec": (False, S.MS_NOEXEC), "exec": (True, S.MS_NOEXEC),
    "sync": (False, S.MS_SYNCHRONOUS), "async": (True, S.MS_SYNCHRONOUS),
    "dirsync": (False, S.MS_DIRSYNC), "remount": (False, S.MS_REMOUNT),
    "mand": (False, S.MS_MANDLOCK), "nomand": (True, S.MS_MANDLOCK),
    "atime": (True, S.MS_NOATIME), "noatime": (False, S.MS_NOATIME),
    "diratime": (True, S.MS_NODIRATIME), "nodiratime": (False, S.MS_NODIRATIME),
    "bind": (False, S.MS_BIND), "rbind": (False, S.MS_BIND | S.MS_REC),
    "relatime": (False, S.MS_RELATIME), "norelatime": (True, S.MS_RELATIME),
    "strictatime": (False, S.MS_STRICTATIME), "nostrictatime": (True, S.MS_STRICTATIME),
    "nosymfollow": (False, S.MS_NOSYMFOLLOW), "symfollow": (True, S.MS_NOSYMFOLLOW),
}  # fmt: skip
PROPAGATION = {
    "private": S.MS_PRIVATE, "rprivate": S.MS_PRIVATE | S.MS_REC,
    "shared": S.MS_SHARED, "rshared": S.MS_SHARED | S.MS_REC,
    "slave": S.MS_SLAVE, "rslave": S.MS_SLAVE | S.MS_REC,
    "unbindable": S.MS_UNBINDABLE, "runbindable": S.MS_UNBINDABLE | S.MS_REC,
}  # fmt: skip
# statvfs(3) f_flag bits that the kernel refuses to clear on a bind remount made inside a
# user namespace ("locked" flags): they have to be repeated.
_ST_LOCKED = ((1, S.MS_RDONLY), (2, S.MS_NOSUID), (4, S.MS_NODEV), (8, S.MS_NOEXEC),
              (1024, S.MS_NOATIME), (2048, S.MS_NODIRATIME), (4096, S.MS_RELATIME))  # fmt: skip

DEFAULT_DEVICES = (
    # path, type, major, minor, mode
    ("/dev/null", "c", 1, 3, 0o666),
    ("/dev/zero", "c", 1, 5, 0o666),
    ("/dev/full", "c", 1, 7, 0o666),
    ("/dev/random", "c", 1, 8, 0o666),
    ("/dev/urandom", "c", 1, 9, 0o666),
    ("/dev/tty", "c", 5, 0, 0o666),
)
DEV_LINKS = (
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
)


class Options:
    """A mount's options split into flags, propagation flags and filesystem data."""

    __slots__ = ("data", "extra", "flags", "propagation")

    def __init__(self) -> None:
        self.flags = 0
        self.propagation: list[int] = []
        self.data: list[str] = []
        self.extra: list[str] = []


def parse_options(options: list[str]) -> Options:
    o = Options()
    for opt in options:
        if opt in _FLAGS:
            clear, flag = _FLAGS[opt]
            o.flags = o.flags & ~flag if clear else o.flags | flag
        elif opt in PROPAGATION:
            o.propagation.append(PROPAGATION[opt])
        elif opt in ("tmpcopyup",):
            o.extra.append(opt)
        else:
            o.data.append(opt)
    return o


def _locked_flags(path: str) -> int:
    try:
        f = os.statvfs(path).f_flag
    except OSError:
        return 0
    return sum(flag for bit, flag in _ST_LOCKED if f & bit)


def _remount_bind(sc: Syscalls, target: str, flags: int) -> None:
    """Apply ``flags`` (ro, nosuid …) to a bind mount: a second, MS_REMOUNT call."""
    want = flags | S.MS_BIND | S.MS_REMOUNT
    try:
        sc.mount(None, target, None, want, None)
    except PermissionError:
        sc.mount(None, target, None, want | _locked_flags(target), None)


def _source_path(source: str, bundle: str) -> str:
    return source if source.startswith("/") else os.path.join(bundle, source)


def _is_bind(m: dict[str, Any], o: Options) -> bool:
    return m.get("type") == "bind" or bool(o.flags & S.MS_BIND)


def prepare(
    sc: Syscalls,
    spec: dict[str, Any],
    rootfs: str,
    bundle: str,
    cgroup_paths: dict[str, str] | None = None,
    new_netns: bool = True,
    new_ipcns: bool = True,
    userns: bool = False,
) -> None:
    """Steps 1 to 4 of the module docstring."""
    lx = spec.get("linux") or {}
    prop = PROPAGATION.get(lx.get("rootfsPropagation", ""), S.MS_SLAVE | S.MS_REC)
    if prop & (S.MS_SHARED | S.MS_UNBINDABLE):
        prop = S.MS_SLAVE | S.MS_REC  # applied to "/" after pivot_root instead
    sc.mount(None, "/", None, prop, None)
    sc.mount(rootfs, rootfs, "bind", S.MS_BIND | S.MS_REC, None)
    dev_from_host = False
    for i, m in enumerate(spec.get("mounts", [])):
        mount_one(sc, m, f"mounts[{i}]", rootfs, bundle, cgroup_paths or {}, new_netns, new_ipcns)
        if m["destination"].rstrip("/") == "/dev" and _is_bind(m, parse_options(m.get("options", []))):
            dev_from_host = True
    if not dev_from_host:
        make_devices(sc, rootfs, lx.get("devices", []), userns)


def mount_one(
    sc: Syscalls,
    m: dict[str, Any],
    field: str,
    rootfs: str,
    bundle: str,
    cgroup_paths: dict[str, str],
    new_netns: bool,
    new_ipcns: bool,
) -> None:
    o = parse_options(m.get("options", []))
    typ = m.get("type") or ""
    src = m.get("source") or ""
    dest_in = m["destination"]
    what = f"{field}.destination"
    if _is_bind(m, o):
        host_src = _source_path(src, bundle)
        try:
            st = os.stat(host_src)
        except OSError as exc:
            raise OSError(exc.errno, f"{field}.source: bind source {host_src!r}: {os.strerror(exc.errno or 0).lower()}") from exc
        if stat.S_ISDIR(st.st_mode):
            dest = mkdir_all_in_root(rootfs, dest_in, what=what)
        else:
            dest = touch_in_root(rootfs, dest_in, what=what)
        sc.mount(host_src, dest, "bind", S.MS_BIND | (o.flags & S.MS_REC), None)
        rest = o.flags & ~(S.MS_BIND | S.MS_REC | S.MS_REMOUNT)
        if rest:
            _remount_bind(sc, dest, rest)
    elif typ == "cgroup" or typ == "cgroup2":
        dest = mkdir_all_in_root(rootfs, dest_in, what=what)
        _mount_cgroup(sc, typ, dest, o, cgroup_paths)
    else:
        dest = mkdir_all_in_root(rootfs, dest_in, what=what)
        if os.path.islink(dest):
            raise InvalidArgument(f"{what}: {dest_in!r} is a symbolic link")
        data = ",".join(o.data) or None
        try:
            sc.mount(src or typ, dest, typ, o.flags & ~S.MS_REMOUNT, data)
        except PermissionError:
            # Without a network (ipc) namespace of our own the kernel refuses a new sysfs
            # (mqueue); runc falls back to binding the host's, and so do we.
            fallback = {"sysfs": ("/sys", not new_netns), "mqueue": ("/dev/mqueue", not new_ipcns)}.get(typ)
            if fallback is None or not fallback[1]:
                raise
            sc.mount(fallback[0], dest, "bind", S.MS_BIND | S.MS_REC, None)
            if o.flags & ~S.MS_REMOUNT:
                _remount_bind(sc, dest, o.flags & ~S.MS_REMOUNT)
    for p in o.propagation:
        sc.mount(None, dest, None, p, None)


def _mount_cgroup(sc: Syscalls, typ: str, dest: str, o: Options, paths: dict[str, str]) -> None:
    """A "cgroup" mount shows the container its own cgroups. cgroup v2: the container's
    directory of the unified hierarchy. v1: a tmpfs with each controller's directory bound
    in (runc does the same when it cannot mount cgroup filesystems in a cgroup namespace)."""
    ro = o.flags & S.MS_RDONLY
    base = S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC
    if list(paths) == ["unified"] or typ == "cgroup2":
        src = paths.get("unified")
        if src:
            sc.mount(src, dest, "bind", S.MS_BIND | S.MS_REC, None)
            _remount_bind(sc, dest, base | ro)
        else:
            sc.mount("cgroup2", dest, "cgroup2", base | ro, None)
        return
    sc.mount("tmpfs", dest, "tmpfs", base, "mode=755")
    for name in sorted(paths):
        sub = os.path.join(dest, name.removeprefix("name="))
        os.makedirs(sub, 0o755, exist_ok=True)
        sc.mount(paths[name], sub, "bind", S.MS_BIND | S.MS_REC, None)
        _remount_bind(sc, sub, base | ro)
    if ro:
        sc.mount(None, dest, None, S.MS_REMOUNT | base | S.MS_RDONLY, "mode=755")


def make_devices(sc: Syscalls, rootfs: str, devices: list[dict[str, Any]], userns: bool) -> None:
    """Default devices, then ``linux.devices``; in a user namespace (no mknod) each is a
    bind mount of the host's node. Then the /dev symlinks and /dev/ptmx → pts/ptmx."""
    wanted: dict[str, tuple[str, int, int, int, int, int]] = {}
    for path, t, ma, mi, mode in DEFAULT_DEVICES:
        wanted[path] = (t, ma, mi, mode, 0, 0)
    for d in devices:
        wanted[d["path"]] = (
            d["type"], d.get("major", 0), d.get("minor", 0),
            d.get("fileMode", 0o666) & 0o7777, d.get("uid", 0), d.get("gid", 0),
        )  # fmt: skip
    for path, (t, ma, mi, mode, uid, gid) in wanted.items():
        _make_device(sc, rootfs, path, t, ma, mi, mode, uid, gid, userns)
    for src, dst in DEV_LINKS:
        host = resolve_in_root(rootfs, dst, "device link")
        if not os.path.lexists(host):
            os.symlink(src, host)
    ptmx = resolve_in_root(rootfs, "/dev/ptmx", "device link")
    if os.path.lexists(ptmx):
        os.unlink(ptmx)
    os.symlink("pts/ptmx", ptmx)


def _make_device(
    sc: Syscalls, rootfs: str, path: str, t: str, major: int, minor: int, mode: int, uid: int, gid: int, userns: bool
) -> None:
    if userns:
        host = touch_in_root(rootfs, path, what="device")
        sc.mount(path, host, "bind", S.MS_BIND, None)
        return
    host = resolve_in_root(rootfs, path, "device")
    os.makedirs(os.path.dirname(host), 0o755, exist_ok=True)
    kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[t]
    try:
        if os.path.lexists(host):
            os.unlink(host)
        os.mknod(host, kind | mode, os.makedev(major, minor) if t != "p" else 0)
        os.chmod(host, mode)  # mknod applies the umask
        os.chown(host, uid, gid)
    except OSError as exc:
        raise OSError(exc.errno, f"create device {path!r}: {os.strerror(exc.errno or 0).lower()}") from exc


def pivot(sc: Syscalls, rootfs: str, no_pivot: bool = False) -> None:
    """Step 6: make ``rootfs`` the root and drop the old one."""
    if no_pivot:
        os.chdir(rootfs)
        sc.mount(rootfs, "/", None, S.MS_MOVE, None)
        os.chroot(".")
        os.chdir("/")
        return
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new)
        sc.pivot_root(".", ".")
        # The old root is now stacked on "/"; make it a slave so the lazy unmount does not
        # propagate to the host, then detach it.
        os.fchdir(old)
        sc.mount(None, ".", None, S.MS_SLAVE | S.MS_REC, None)
        sc.umount2(".", S.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old)
        os.close(new)


def root_propagation_after_pivot(sc: Syscalls, spec: dict[str, Any]) -> None:
    prop = PROPAGATION.get((spec.get("linux") or {}).get("rootfsPropagation", ""))
    if prop and prop & (S.MS_SHARED | S.MS_UNBINDABLE):
        sc.mount(None, "/", None, prop, None)


def _kept_flags(path: str) -> int:
    """The nosuid/nodev/noexec/atime flags ``path``'s mount has now. A bind remount sets
    the mount's flags to exactly what it is given, so making /proc/sys read-only must
    repeat them or it would quietly drop /proc's nosuid,nodev,noexec (runc repeats them
    too)."""
    return _locked_flags(path) & ~S.MS_RDONLY


def finalize(sc: Syscalls, spec: dict[str, Any]) -> None:
    """Step 7, inside the new root: read-only paths, masked paths, read-only root."""
    lx = spec.get("linux") or {}
    for p in lx.get("readonlyPaths", []):
        try:
            sc.mount(p, p, None, S.MS_BIND | S.MS_REC, None)
        except FileNotFoundError:
            continue
        _remount_bind(sc, p, S.MS_RDONLY | S.MS_REC | _kept_flags(p))
    for p in lx.get("maskedPaths", []):
        mask_path(sc, p)
    if (spec.get("root") or {}).get("readonly"):
        _remount_bind(sc, "/", S.MS_RDONLY | _kept_flags("/"))


def mask_path(sc: Syscalls, p: str) -> None:
    """A masked directory gets an empty read-only tmpfs, a masked file /dev/null."""
    try:
        sc.mount("/dev/null", p, None, S.MS_BIND, None)
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno != errno.ENOTDIR:
            raise
        sc.mount("tmpfs", p, "tmpfs", S.MS_RDONLY, None)
