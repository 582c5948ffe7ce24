"""From OCI ``linux.cgroupsPath`` to the cgroup path a container gets.

runtime-spec config-linux.md "Cgroups path": an absolute path is relative to the cgroup
mount point(s); a relative path may be interpreted relative to a runtime-chosen location
(runc, and berth, take the caller's own cgroup from /proc/self/cgroup, see cgroups(7)).
An empty path is ``/<container id>``. The systemd driver's ``slice:prefix:name`` form is
refused: berth drives cgroupfs directly.

The result is always absolute and normalised (``/berth/abc``) and never the hierarchy
root itself: destroying the container removes that directory.
"""

from __future__ import annotations

from berth.errdefs import InvalidArgument, from_oserror

__all__ = ["current_cgroup", "resolve_path"]

_FIELD = "linux.cgroupsPath"


def current_cgroup(proc_cgroup: str = "/proc/self/cgroup") -> str:
    """The caller's cgroup: the v2 (``0::``) entry when the process has one, else the
    ``name=systemd`` one, else the first (cgroups(7) "/proc/[pid]/cgroup")."""
    try:
        with open(proc_cgroup, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as exc:
        raise from_oserror(f"read {proc_cgroup!r}", exc) from exc
    found: dict[str, str] = {}
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            found.setdefault(parts[1] if parts[0] != "0" else "", parts[2])
    for key in ("", "name=systemd"):
        if key in found:
            return found[key] or "/"
    return next(iter(found.values()), "/") or "/"


def _join(components: list[str], path: str, cgroups_path: str) -> list[str]:
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not components:
                raise InvalidArgument(
                    f"{_FIELD} {cgroups_path!r} escapes the cgroup hierarchy root through '..'"
                )
            components.pop()
        else:
            components.append(part)
    return components


def resolve_path(cgroups_path: str | None, container_id: str, own_cgroup: str | None = None) -> str:
    """The absolute cgroup path for a container (see the module docstring).

    ``own_cgroup`` is the base of a relative path; None reads /proc/self/cgroup."""
    cgroups_path = cgroups_path or ""
    if "\0" in cgroups_path:
        raise InvalidArgument(f"{_FIELD} {cgroups_path!r} contains a NUL byte")
    if ":" in cgroups_path:
        raise InvalidArgument(
            f"{_FIELD} {cgroups_path!r} is systemd 'slice:prefix:name' syntax; berth manages "
            "cgroupfs directly (use a path such as '/berth/<id>')"
        )
    if not cgroups_path:
        if (
            not container_id
            or "/" in container_id
            or container_id in (".", "..")
            or "\0" in container_id
        ):
            raise InvalidArgument(
                f"{_FIELD} is empty and the container id {container_id!r} cannot name a cgroup"
            )
        cgroups_path = "/" + container_id
    if cgroups_path.startswith("/"):
        components = _join([], cgroups_path, cgroups_path)
    else:
        base = own_cgroup if own_cgroup is not None else current_cgroup()
        components = _join(_join([], base, cgroups_path), cgroups_path, cgroups_path)
    if not components:
        raise InvalidArgument(
            f"{_FIELD} {cgroups_path!r} is the hierarchy root, which cannot hold a container"
        )
    return "/" + "/".join(components)
