"""The container's mounts, planned from its config and host config before anything is
mounted.

Four sources feed the plan, in Docker's order (moby ``daemon/volumes.go``
``registerMountPoints`` and ``volume/mounts/linux_parser.go``):

1. ``HostConfig.Binds`` — ``-v``: ``/host:/dst[:opts]`` is a bind, ``name:/dst[:opts]`` a
   named volume, ``/dst`` an anonymous volume. ``opts`` is a comma-separated list of at
   most one each of ``ro``/``rw``, ``z``/``Z`` (SELinux relabel), a propagation mode
   (``shared``, ``rshared``, ``slave``, ``rslave``, ``private``, ``rprivate``),
   ``nocopy`` and a consistency (``consistent``, ``cached``, ``delegated``). A missing
   bind source is created as a directory (``create_source``), as Docker does for ``-v``.
2. ``HostConfig.Mounts`` — ``--mount``: typed items; a bind source must exist unless
   ``bind_options.create_mountpoint``.
3. ``HostConfig.Tmpfs`` — ``--tmpfs /dst:size=64m,mode=1777``.
4. ``Config.Volumes`` — the image's ``VOLUME``s: anonymous volumes, unless another mount
   already covers that destination.

Two mounts on one destination are ``Duplicate mount point: /dst``. The plan is sorted
by the depth of the destination (its number of ``/``), so a parent is mounted before
what is mounted inside it (moby ``sortMounts``).

A **tmpfs** always gets ``noexec,nosuid,nodev`` and ``rprivate`` first; the user's
options follow and win by kind (``exec`` beats ``noexec``, a later ``size=`` beats an
earlier one), as moby's ``MergeTmpfsOptions``.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from berth import errdefs
from berth.engine.containers.model import ContainerConfig, HostConfig, Mount
from berth.linux.fs import resolve_in_root

__all__ = [
    "DEFAULT_PROPAGATION",
    "MountPlan",
    "make_working_dir",
    "parse_bind",
    "parse_tmpfs_options",
    "plan_mounts",
    "tmpfs_options_string",
]

DEFAULT_PROPAGATION = "rprivate"
PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")
_CONSISTENCIES = ("consistent", "cached", "delegated", "default")
_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

# mount(8) flags a tmpfs accepts, grouped by the kernel flag they set: the last option
# of a group wins. Propagation modes form one group.
_FLAG_GROUPS: dict[str, str] = {
    "ro": "rdonly", "rw": "rdonly",
    "suid": "nosuid", "nosuid": "nosuid",
    "dev": "nodev", "nodev": "nodev",
    "exec": "noexec", "noexec": "noexec",
    "sync": "sync", "async": "sync",
    "dirsync": "dirsync",
    "mand": "mand", "nomand": "mand",
    "atime": "noatime", "noatime": "noatime",
    "diratime": "nodiratime", "nodiratime": "nodiratime",
    "relatime": "relatime", "norelatime": "relatime",
    "strictatime": "strictatime", "nostrictatime": "strictatime",
    **{p: "propagation" for p in (*PROPAGATIONS, "unbindable", "runbindable")},
}  # fmt: skip
_TMPFS_DATA = ("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol")
_TMPFS_DEFAULTS = ["noexec", "nosuid", "nodev", DEFAULT_PROPAGATION]
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


@dataclass
class MountPlan:
    """One mount the container will get.

    ``source`` is the host path of a bind, the volume's name ("" while an anonymous volume
    has no name yet), "" for a tmpfs. ``mode`` is inspect's ``Mode``: the ``-v`` options
    as given, ``z`` for a local volume given none, "" for ``--mount`` binds and image
    volumes. ``options`` are the OCI mount options of a tmpfs. ``create_source``: a
    ``-v`` bind whose host directory is created when missing.
    """

    type: str  # bind | volume | tmpfs
    destination: str
    source: str = ""
    read_only: bool = False
    propagation: str = ""
    mode: str = ""
    relabel: str = ""  # "z" shared, "Z" private SELinux label
    no_copy: bool = False
    volume_driver: str = ""
    driver_options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    subpath: str = ""
    tmpfs_size: int = 0
    tmpfs_mode: int = 0
    options: list[str] = field(default_factory=list)
    create_source: bool = False
    from_image: bool = False

    @property
    def anonymous(self) -> bool:
        """A volume without a name: it gets a random one and goes with the container."""
        return self.type == "volume" and not self.source


def _clean(path: str) -> str:
    """Go's ``path.Clean``: normpath, but a leading ``//`` is just ``/``."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _invalid_spec(raw: str) -> str:
    return f"invalid volume specification: '{raw}'"


def _mount_error(mount_type: str, reason: str) -> errdefs.InvalidArgument:
    return errdefs.InvalidArgument(f'invalid mount config for type "{mount_type}": {reason}')


def _check_destination(target: str) -> str | None:
    """Docker's reason why ``target`` cannot be a mount destination, or None."""
    if not target:
        return "field Target must not be empty"
    if target == "/":
        return "invalid specification: destination can't be '/'"
    if not target.startswith("/"):
        return f"invalid mount path: '{target}' mount path must be absolute"
    return None


def _valid_mode(mode: str) -> bool:
    """moby ``linuxValidMountMode``: at most one option of each kind, none unknown."""
    if not mode:
        return True
    counts: dict[str, int] = {}
    for opt in mode.split(","):
        if opt in ("ro", "rw"):
            kind = "rw"
        elif opt in ("z", "Z"):
            kind = "label"
        elif opt in PROPAGATIONS:
            kind = "propagation"
        elif opt == "nocopy":
            kind = "copy"
        elif opt in _CONSISTENCIES:
            kind = "consistency"
        else:
            return False
        counts[kind] = counts.get(kind, 0) + 1
    return all(n == 1 for n in counts.values())


def _check_volume_name(name: str, driver: str) -> None:
    """The local driver's rule for names (moby ``names.RestrictedNamePattern``: two or
    more characters); other drivers judge their own names."""
    if driver in ("", "local") and not _VOLUME_NAME.match(name):
        raise errdefs.InvalidArgument(
            f'create {name}: "{name}" includes invalid characters for a local volume name, '
            'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. '
            "If you intended to pass a host directory, use absolute path"
        )


def parse_bind(raw: str, volume_driver: str = "") -> MountPlan:
    """One ``-v`` item (moby ``ParseMountRaw``)."""
    parts = raw.split(":", 3)
    if not parts[0] or len(parts) > 3:
        raise errdefs.InvalidArgument(_invalid_spec(raw))
    source, mode = "", ""
    if len(parts) == 1:
        target = parts[0]
    elif len(parts) == 2:
        if _valid_mode(parts[1]):
            # "/dst:ro": a volume cannot take options without a source
            raise errdefs.InvalidArgument(_invalid_spec(raw))
        source, target = parts
    else:
        source, target, mode = parts
    if not _valid_mode(mode):
        raise errdefs.InvalidArgument(f"invalid mode: {mode}")
    opts = mode.split(",") if mode else []
    kind = "bind" if source.startswith("/") else "volume"
    reason = _check_destination(target)
    if reason is not None:
        raise errdefs.InvalidArgument(f"{_invalid_spec(raw)}: {_mount_error(kind, reason)}")
    if kind == "volume" and source:
        _check_volume_name(source, volume_driver)
    propagation = next((o for o in opts if o in PROPAGATIONS), "")
    plan = MountPlan(
        type=kind,
        destination=_clean(target),
        source=_clean(source) if kind == "bind" else source,
        read_only="ro" in opts,
        mode=mode,
        relabel=next((o for o in opts if o in ("z", "Z")), ""),
        no_copy="nocopy" in opts,
    )
    if kind == "bind":
        plan.propagation = propagation or DEFAULT_PROPAGATION
        plan.create_source = True
    else:
        plan.volume_driver = volume_driver
        plan.mode = _volume_mode(mode, volume_driver)
    return plan


def _volume_mode(mode: str, driver: str) -> str:
    """inspect's ``Mode`` of a volume from ``-v`` or ``--mount``: ``z`` when the local
    driver's volume was given no options (moby ``setBindModeIfNull``)."""
    return mode or ("z" if driver in ("", "local") else "")


def _plan_mount(m: Mount, exists: Callable[[str], bool]) -> MountPlan:
    """One ``--mount`` item (moby ``ParseMountSpec``: the bind source must exist)."""
    reason = _check_destination(m.target)
    if reason is not None:
        raise _mount_error(m.type, reason)
    extra = {"BindOptions": m.bind_options, "VolumeOptions": m.volume_options,
             "TmpfsOptions": m.tmpfs_options}  # fmt: skip
    allowed = {"bind": "BindOptions", "volume": "VolumeOptions", "tmpfs": "TmpfsOptions"}
    if m.type not in allowed:
        raise _mount_error(m.type, "mount type unknown")
    for name, value in extra.items():
        if value is not None and name != allowed[m.type]:
            raise _mount_error(m.type, f"field {name} must not be specified")
    plan = MountPlan(type=m.type, destination=_clean(m.target), read_only=m.read_only)
    if m.type == "bind":
        if not m.source:
            raise _mount_error(m.type, "field Source must not be empty")
        bind = m.bind_options
        if bind is not None and bind.propagation and bind.propagation not in PROPAGATIONS:
            raise _mount_error(m.type, f"invalid propagation mode: {bind.propagation}")
        if not m.source.startswith("/"):
            raise _mount_error(
                m.type, f"invalid mount path: '{m.source}' mount path must be absolute"
            )
        create = bind is not None and bind.create_mountpoint
        if not create and not exists(m.source):
            raise _mount_error(m.type, f"bind source path does not exist: {m.source}")
        plan.source = _clean(m.source)
        plan.propagation = (bind.propagation if bind else "") or DEFAULT_PROPAGATION
        plan.create_source = create
    elif m.type == "volume":
        vol = m.volume_options
        if m.read_only and not m.source:
            raise _mount_error(m.type, "must not set ReadOnly mode when using anonymous volumes")
        if vol is not None and vol.subpath:
            if not m.source:
                raise _mount_error(m.type, "must not set Subpath when using anonymous volumes")
            if vol.subpath.startswith("/") or ".." in vol.subpath.split("/"):
                raise _mount_error(m.type, "subpath must be a relative path within the volume")
        if m.source:
            _check_volume_name(m.source, vol.driver if vol else "")
        plan.source = m.source
        if vol is not None:
            plan.no_copy = vol.no_copy
            plan.volume_driver = vol.driver
            plan.driver_options = dict(vol.driver_options)
            plan.labels = dict(vol.labels)
            plan.subpath = vol.subpath
        plan.mode = _volume_mode("", plan.volume_driver)
    else:
        if m.source:
            raise _mount_error(m.type, "field Source must not be specified")
        tmpfs = m.tmpfs_options
        raw = tmpfs_options_string(
            tmpfs.size_bytes if tmpfs else 0, tmpfs.mode if tmpfs else 0, m.read_only
        )
        try:
            plan.options, plan.tmpfs_size, plan.tmpfs_mode = parse_tmpfs_options(raw)
        except errdefs.InvalidArgument as exc:
            raise _mount_error(m.type, exc.message) from exc
    return plan


def tmpfs_options_string(size_bytes: int, mode: int, read_only: bool = False) -> str:
    """A ``--mount type=tmpfs`` item's options as ``--tmpfs`` text (moby
    ``ConvertTmpfsOptions``): ``ro``, ``mode=`` octal, ``size=`` in the largest unit that
    divides it."""
    opts = ["ro"] if read_only else []
    if mode:
        opts.append(f"mode={mode:o}")
    if size_bytes:
        size, suffix = size_bytes, ""
        for unit, divisor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
            if size_bytes % divisor == 0:
                size, suffix = size_bytes // divisor, unit
                break
        opts.append(f"size={size}{suffix}")
    return ",".join(opts)


def _parse_size(value: str) -> int:
    """tmpfs ``size=``: bytes with an optional k/m/g/t/p suffix; a percentage of RAM is
    kept for the kernel and reported as 0."""
    if value.endswith("%") and value[:-1].isdigit():
        return 0
    m = re.fullmatch(r"(\d+)([kmgtpKMGTP]?)", value)
    if m is None:
        raise errdefs.InvalidArgument(f"invalid tmpfs size: {value}")
    return int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]


def parse_tmpfs_options(opts: str) -> tuple[list[str], int, int]:
    """``(oci_options, size_bytes, mode)`` of a tmpfs from Docker's option text
    (``size=64m,mode=1777,exec``). The defaults ``noexec,nosuid,nodev,rprivate`` come
    first and the user's options override them by kind (moby ``MergeTmpfsOptions``)."""
    options = _TMPFS_DEFAULTS + [o for o in opts.split(",") if o]
    flag_seen: set[str] = set()
    data_seen: set[str] = set()
    merged: list[str] = []
    size, mode = 0, 0
    for option in reversed(options):
        if option == "defaults":
            continue
        group = _FLAG_GROUPS.get(option)
        if group is not None:
            if group not in flag_seen:
                merged.insert(0, option)
                flag_seen.add(group)
            continue
        key, sep, value = option.partition("=")
        if not sep or key not in _TMPFS_DATA:
            quoted = " ".join(f'"{p}"' for p in option.split("=", 1))  # Go's %q of a []string
            raise errdefs.InvalidArgument(f"invalid tmpfs option [{quoted}]")
        if key in data_seen:
            continue
        data_seen.add(key)
        merged.insert(0, option)
        if key == "size":
            size = _parse_size(value)
        elif key == "mode":
            try:
                mode = int(value, 8)
            except ValueError:
                raise errdefs.InvalidArgument(f"invalid tmpfs mode: {value}") from None
        elif key in ("uid", "gid") and not value.isdigit():
            raise errdefs.InvalidArgument(f"invalid tmpfs {key}: {value}")
    return merged, size, mode


def make_working_dir(rootfs: str, working_dir: str) -> None:
    """Create the container's working directory in its mounted ``rootfs`` when the image
    lacks it (``-w /new/dir``), mode 0755 owned by root, as moby's
    ``SetupWorkingDirectory``; a non-directory there is refused with Docker's message."""
    if not working_dir:
        return
    host = resolve_in_root(rootfs, working_dir, "working directory")
    if os.path.isdir(host):
        return
    if os.path.lexists(host):
        raise errdefs.InvalidArgument(f"Cannot mkdir: {working_dir} is not a directory")
    try:
        os.makedirs(host, 0o755)
    except NotADirectoryError:
        raise errdefs.InvalidArgument(f"Cannot mkdir: {working_dir} is not a directory") from None


def _duplicate(destination: str) -> errdefs.InvalidArgument:
    return errdefs.InvalidArgument(f"Duplicate mount point: {destination}")


def plan_mounts(
    config: ContainerConfig,
    host_config: HostConfig,
    exists: Callable[[str], bool] = os.path.exists,
) -> list[MountPlan]:
    """Every mount of the container, validated, parents before children. ``exists``
    answers whether a ``--mount`` bind source is there (a seam for tests)."""
    planned: dict[str, MountPlan] = {}
    tmpfs_dests = {_clean(d) for d in host_config.tmpfs}

    for raw in host_config.binds:
        plan = parse_bind(raw, host_config.volume_driver)
        if plan.destination in planned or plan.destination in tmpfs_dests:
            raise _duplicate(plan.destination)
        planned[plan.destination] = plan

    for item in host_config.mounts:
        plan = _plan_mount(item, exists)
        if plan.destination in planned:
            raise _duplicate(item.target)
        planned[plan.destination] = plan

    for dest, raw_opts in host_config.tmpfs.items():
        reason = _check_destination(dest)
        if reason is not None:
            raise _mount_error("tmpfs", reason)
        destination = _clean(dest)
        if destination in planned:
            raise _duplicate(destination)
        options, size, mode = parse_tmpfs_options(raw_opts)
        planned[destination] = MountPlan(
            type="tmpfs",
            destination=destination,
            read_only="ro" in options,
            tmpfs_size=size,
            tmpfs_mode=mode,
            options=options,
        )

    for volume in config.volumes:
        destination = _clean(volume)
        if destination in planned:
            continue
        reason = _check_destination(volume)
        if reason is not None:
            raise errdefs.InvalidArgument(
                f"{_invalid_spec(volume)}: {_mount_error('volume', reason)}"
            )
        planned[destination] = MountPlan(
            type="volume",
            destination=destination,
            volume_driver=host_config.volume_driver,
            from_image=True,
        )

    return sorted(planned.values(), key=lambda p: p.destination.count("/"))
