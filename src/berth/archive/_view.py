"""Paths of tar entries, resolved in the merged view of a layer and its parents.

A layer is extracted into its own directory (the *root*, which becomes an overlay
lowerdir or upperdir), but its entries are meant for the *merged* tree of the layers below
plus itself: ``lib/x.so`` must follow a ``lib -> usr/lib`` symlink that an earlier layer
made. So every parent directory of an entry is looked up as overlayfs would — the root
first, then each parent layer, a whiteout hiding what is below it and an opaque directory
ending the search — following symlinks *inside that view*: an absolute target starts
again at the top, and ``..`` may not climb above it. A path that would leave the tree is
refused with InvalidArgument, never clamped and never followed on the host.

What the resolution yields are path components relative to the root; :meth:`View.make_parents`
then creates whatever of them the root lacks, copying mode, owner and times from the
parent layer that has the directory (containerd's ``mkparent``), so that writing
``usr/bin/x`` into a fresh layer does not turn ``usr`` into a 0755 root-owned copy.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence

from berth.archive import whiteout as wh
from berth.errdefs import InvalidArgument, from_oserror
from berth.linux import xattr

_MAX_LINKS = 255
_MISSING, _DIR, _LINK, _OTHER = range(4)


def clean_name(name: str, what: str) -> list[str]:
    """A tar entry name as components below the root. Leading ``/`` and ``./`` are
    dropped (an absolute name is taken as relative to the layer's root, as Docker does);
    ``..`` is applied lexically and may not climb above the root."""
    out: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                raise InvalidArgument(f"{what}: path {name!r} escapes the layer root through '..'")
            out.pop()
            continue
        out.append(part)
    return out


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


class View:
    """The merged tree of ``root`` over ``parents`` (top-most parent first)."""

    def __init__(self, root: str, parents: Sequence[str] = ()) -> None:
        self.root = root
        self.layers = [root, *parents]
        # Parents already resolved and present in the root as real directories, keyed
        # by the cleaned name. The root is the top layer, so only removing something
        # from it can change such a lookup: the applier calls forget() when it does.
        self._known: dict[tuple[str, ...], str] = {}

    def forget(self) -> None:
        self._known.clear()

    def _lookup(self, dirs: list[str], name: str) -> tuple[int, list[str], str]:
        """Look ``name`` up in a merged directory made of ``dirs`` (top first)."""
        found: list[str] = []
        for d in dirs:
            p = os.path.join(d, name)
            st = _lstat(p)
            if st is None:
                continue
            if wh.is_whiteout(st):
                break
            if stat.S_ISDIR(st.st_mode):
                found.append(p)
                if wh.is_opaque(p):
                    break
                continue
            if found:
                break  # a directory above hides this non-directory
            return (_LINK if stat.S_ISLNK(st.st_mode) else _OTHER), [], p
        if found:
            return _DIR, found, found[0]
        return _MISSING, [], ""

    def _dirs_for(self, comps: Sequence[str]) -> list[str]:
        """The layer directories contributing to the merged directory ``comps`` (all of
        whose components are directories in the view)."""
        dirs = list(self.layers)
        for name in comps:
            _, dirs, _ = self._lookup(dirs, name)
        return dirs

    def resolve_dir(self, comps: Sequence[str], what: str) -> list[str]:
        """``comps`` (a directory path) with every symlink in it resolved in the view;
        components past the first missing one are kept as they are."""
        key = tuple(comps)
        if key in self._known:
            return list(comps)
        if self._in_root(comps):
            return list(comps)
        resolved: list[str] = []
        dirs = list(self.layers)
        todo = list(comps)
        links = 0
        while todo:
            name = todo.pop(0)
            if name == "..":
                if not resolved:
                    raise InvalidArgument(
                        f"{what}: {'/'.join(comps)!r} escapes the layer root through a symlink"
                    )
                resolved.pop()
                dirs = self._dirs_for(resolved)
                continue
            kind, child_dirs, host = self._lookup(dirs, name)
            if kind == _MISSING:
                resolved.append(name)
                for rest in todo:
                    if rest == "..":
                        if not resolved:
                            raise InvalidArgument(
                                f"{what}: {'/'.join(comps)!r} escapes the layer root"
                            )
                        resolved.pop()
                    elif rest not in ("", "."):
                        resolved.append(rest)
                return resolved
            if kind == _LINK:
                links += 1
                if links > _MAX_LINKS:
                    raise InvalidArgument(f"{what}: too many levels of symbolic links")
                target = os.readlink(host)
                if target.startswith("/"):
                    resolved, dirs = [], list(self.layers)
                todo = [p for p in target.split("/") if p not in ("", ".")] + todo
                continue
            if kind == _OTHER:
                raise InvalidArgument(
                    f"{what}: {'/'.join([*resolved, name])!r} is not a directory"
                )
            resolved.append(name)
            dirs = child_dirs
        return resolved

    def _in_root(self, comps: Sequence[str]) -> bool:
        """Every component is a real directory in the root itself: then the root decides
        the lookup (it is the top layer) and nothing below needs asking."""
        path = self.root
        for name in comps:
            path = os.path.join(path, name)
            st = _lstat(path)
            if st is None or not stat.S_ISDIR(st.st_mode):
                return False
        self._known[tuple(comps)] = path
        return True

    def make_parents(self, comps: Sequence[str], chown: bool, what: str) -> tuple[str, list[tuple[str, int, int]]]:
        """Create the directories ``comps`` (already resolved) in the root; returns the
        host path and the (path, atime_ns, mtime_ns) of directories made, whose times the
        caller sets once the layer is in (creating children changes them)."""
        key = tuple(comps)
        if key in self._known:
            return self._known[key], []
        made: list[tuple[str, int, int]] = []
        path = self.root
        for i, name in enumerate(comps):
            path = os.path.join(path, name)
            st = _lstat(path)
            if st is not None and stat.S_ISDIR(st.st_mode):
                continue
            try:
                if st is not None:
                    if not wh.is_whiteout(st):
                        raise InvalidArgument(f"{what}: {path!r} is not a directory")
                    # This layer deleted the directory and now adds into it again:
                    # a new directory that hides whatever the lower layers had.
                    os.unlink(path)
                    os.mkdir(path, 0o755)
                    wh.set_opaque(path)
                    continue
                lower = self._dirs_for(comps[: i + 1])
                lower = [d for d in lower if not d.startswith(self.root + os.sep)]
                os.mkdir(path, 0o755)
                if lower:
                    made.append(_copy_dir_info(lower[0], path, chown))
            except OSError as exc:
                raise from_oserror(f"{what}: mkdir {path!r}", exc) from exc
        self._known[key] = path
        return path, made


def _copy_dir_info(src: str, dst: str, chown: bool) -> tuple[str, int, int]:
    st = os.lstat(src)
    if chown:
        os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    os.chmod(dst, stat.S_IMODE(st.st_mode))
    for name in xattr.list_names(src):
        if name.startswith(wh.OVERLAY_XATTR_PREFIXES):
            continue
        value = xattr.get(src, name)
        if value is not None:
            try:
                xattr.set(dst, name, value)
            except Exception as exc:  # an attribute we may not set here: not fatal
                if getattr(exc, "errno", None) not in (errno.EPERM, errno.ENOTSUP):
                    raise
    return dst, st.st_atime_ns, st.st_mtime_ns
