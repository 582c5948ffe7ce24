"""Careful filesystem helpers: paths resolved inside a root, atomic writes.

:func:`resolve_in_root` walks a path one component at a time inside ``root`` following
symlinks as the container will see them: an absolute link target starts again at
``root``, and ``..`` may not climb above ``root``. A path that would leave the root that
way is refused with InvalidArgument instead of silently clamped, so that a bundle whose
mount destination escapes through a symlink is reported (runc's securejoin clamps; we say
what is wrong). Resolution is a check, not a guarantee against a concurrent rename; the
runtime only resolves inside a rootfs nobody else is changing at create time.
"""

from __future__ import annotations

import errno
import os
import stat

from berth.errdefs import InvalidArgument, from_oserror

__all__ = ["atomic_write", "mkdir_all_in_root", "resolve_in_root", "touch_in_root"]

_MAX_LINKS = 255


def resolve_in_root(root: str, path: str, what: str = "path") -> str:
    """``path`` (absolute or relative, as seen from inside ``root``) as a host path under
    ``root`` with every existing symlink resolved inside ``root``. Missing trailing
    components are kept as they are. ``what`` names the path in errors."""
    root = os.path.normpath(root)
    parts = [p for p in path.split("/") if p and p != "."]
    resolved: list[str] = []  # components below root, all existing non-links so far
    links = 0
    while parts:
        name = parts.pop(0)
        if name == "..":
            if not resolved:
                raise InvalidArgument(f"{what} {path!r} escapes the root {root!r} through '..'")
            resolved.pop()
            continue
        host = os.path.join(root, *resolved, name)
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            # Nothing exists below here: the rest is lexical.
            resolved.append(name)
            for rest in parts:
                if rest != "..":
                    resolved.append(rest)
                elif resolved:
                    resolved.pop()
                else:
                    raise InvalidArgument(
                        f"{what} {path!r} escapes the root {root!r} through '..'"
                    ) from None
            return os.path.join(root, *resolved) if resolved else root
        except NotADirectoryError as exc:
            raise InvalidArgument(
                f"{what} {path!r}: {os.path.join(root, *resolved)!r} is not a directory"
            ) from exc
        except OSError as exc:
            raise from_oserror(f"resolve {what} {path!r} in {root!r}", exc) from exc
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > _MAX_LINKS:
                raise InvalidArgument(f"{what} {path!r}: too many levels of symbolic links")
            target = os.readlink(host)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p and p != "."] + parts
            continue
        resolved.append(name)
    return os.path.join(root, *resolved) if resolved else root


def mkdir_all_in_root(root: str, path: str, mode: int = 0o755, what: str = "path") -> str:
    """Create ``path`` inside ``root`` (resolved as above) with missing parents; returns
    the host path. An existing non-directory in the way is an error naming it."""
    host = resolve_in_root(root, path, what)
    try:
        os.makedirs(host, mode, exist_ok=True)
    except FileExistsError as exc:
        raise InvalidArgument(f"{what} {path!r}: {host!r} exists and is not a directory") from exc
    except OSError as exc:
        raise from_oserror(f"mkdir {host!r}", exc) from exc
    # A racing symlink could have been placed after resolution; check the final answer.
    real = os.path.realpath(host)
    if real != os.path.realpath(root) and not real.startswith(os.path.realpath(root) + "/"):
        raise InvalidArgument(f"{what} {path!r} escapes the root {root!r}")
    return host


def touch_in_root(root: str, path: str, what: str = "path") -> str:
    """Create an empty file at ``path`` inside ``root`` (parents too); returns the host path."""
    host = resolve_in_root(root, path, what)
    parent = os.path.dirname(host)
    if parent != host:
        mkdir_all_in_root(root, os.path.relpath(parent, root), what=what)
    try:
        fd = os.open(host, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        os.close(fd)
    except IsADirectoryError:
        pass
    except OSError as exc:
        if exc.errno != errno.EISDIR:
            raise from_oserror(f"create {host!r}", exc) from exc
    return host


def atomic_write(path: str, data: bytes | str, mode: int = 0o644) -> None:
    """Write ``path`` so that readers see the old or the new content, never a part:
    a temp file beside it, fsync, rename."""
    if isinstance(data, str):
        data = data.encode()
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)
