"""COPY and ADD on the file system: sources found in a root (the build context, or another
stage's image), copied into a rootfs by the Dockerfile reference's rules.

**Sources.** A source is a path relative to its root, possibly with wildcards (Go's
``filepath.Match``: ``*`` and ``?`` do not cross ``/``, ``[...]`` classes). It is
resolved *inside* the root: ``..`` above it is "forbidden path outside the build
context", and symlinks on the way are followed as if the root were ``/`` — a link that
points outside the context therefore finds nothing there (and is said to). A source that
is itself a symlink is followed (its target is copied); symlinks *inside* a copied
directory are copied as links. Files the ``.dockerignore`` excludes are not there.

**Destination.** Relative to the stage's working directory. With several sources (or a
wildcard), it must end with ``/``. A file goes to the destination itself unless that ends
with ``/`` or is an existing directory (then into it, under its own name); a directory's
*contents* are copied into the destination. Missing parents are made (0755). Everything
copied belongs to 0:0 unless ``--chown`` says otherwise (names resolved in the rootfs'
/etc/passwd and /etc/group), keeps its mode unless ``--chmod`` sets one, and keeps its
modification time.

**ADD** also unpacks a local tar archive (plain, gzip, bzip2, xz) into the destination
directory; a file fetched from a URL is copied as a file (mode 0600, Docker's).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from berth import errdefs
from berth.linux.fs import mkdir_all_in_root, resolve_in_root

__all__ = [
    "Source",
    "copy_into",
    "file_digest",
    "find_sources",
    "glob_regex",
    "has_wildcard",
    "match_sources",
    "resolve_chown",
    "sources_digest",
]


@dataclass(frozen=True)
class Source:
    host: str  # the host path (after following a top-level symlink)
    name: str  # its path relative to its root, as matched
    is_dir: bool = False


def has_wildcard(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                raise errdefs.InvalidArgument(f"syntax error in pattern {pattern!r}")
            body = pattern[i + 1 : j]
            if body.startswith(("^", "!")):
                body = "^" + body[1:]
            out += f"[{body}]"
            i = j
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


def match_sources(
    pattern: str,
    *,
    source: Callable[[str, str], Source],
    listdir: Callable[[str], list[str] | None],
    excluded: Callable[[str], bool] | None = None,
    what: str = "build context",
) -> list[Source]:
    """The sources ``pattern`` names (see the module docstring), in a root seen through
    ``source(rel, shown)`` (the Source at ``rel``, NotFound when nothing is there) and
    ``listdir(rel)`` (a directory's names; None when it is no directory): the disk, or an
    index of the uploaded context (:class:`berth.builder.context.TarContext`)."""
    clean = os.path.normpath("/" + pattern).lstrip("/")
    if os.path.normpath(pattern).startswith("../") or os.path.normpath(pattern) == "..":
        raise errdefs.InvalidArgument(f"forbidden path outside the {what}: {pattern}")
    excluded = excluded or (lambda _: False)
    if not has_wildcard(clean):
        if clean and excluded(clean):
            raise errdefs.NotFound(
                f"file not found in {what} or excluded by .dockerignore: stat {pattern}: file does not exist"
            )
        return [source(clean, pattern)]
    # wildcards: walk the directories the pattern's fixed prefix names
    matches = [""]
    for part in clean.split("/"):
        nxt = []
        for base in matches:
            if has_wildcard(part):
                rx = glob_regex(part)
                names = listdir(base)
                nxt += [f"{base}/{n}".lstrip("/") for n in sorted(names or ()) if rx.match(n)]
            else:
                nxt.append(f"{base}/{part}".lstrip("/"))
        matches = nxt
    out = []
    for rel in matches:
        if excluded(rel):
            continue
        with contextlib.suppress(errdefs.NotFound):
            out.append(source(rel, rel))
    return out


def find_sources(
    root: str, pattern: str, *, excluded: Callable[[str], bool] | None = None, what: str = "build context"
) -> list[Source]:
    """The sources ``pattern`` names in the directory ``root``."""

    def source(rel: str, shown: str) -> Source:
        host = _resolve(root, rel, shown, what)
        return Source(host, rel or ".", os.path.isdir(host))

    def listdir(rel: str) -> list[str] | None:
        try:
            return os.listdir(resolve_in_root(root, rel, what) if rel else root)
        except OSError:
            return None

    return match_sources(pattern, source=source, listdir=listdir, excluded=excluded, what=what)


def _resolve(root: str, rel: str, shown: str, what: str) -> str:
    host = resolve_in_root(root, rel, what)
    if not os.path.lexists(host):
        # say why when a symlink on the way led outside
        probe = os.path.join(root, rel)
        if os.path.islink(probe) or any(
            os.path.islink(os.path.join(root, *rel.split("/")[:i])) for i in range(1, rel.count("/") + 1)
        ):
            raise errdefs.NotFound(
                f"file not found in {what}: {shown} is a symlink whose target is outside the {what} "
                "(links are followed inside the context only)"
            )
        raise errdefs.NotFound(
            f"file not found in {what} or excluded by .dockerignore: stat {shown}: file does not exist"
        )
    return host


_FILE_DIGESTS: dict[tuple[int, int, int, int, int], str] = {}
_FILE_DIGESTS_MAX = 200_000


def file_digest(path: str, st: os.stat_result) -> str:
    """A regular file's sha256 (hex), remembered by device, inode, size, mtime and ctime:
    a file written since has another ctime, which no one can set back."""
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    known = _FILE_DIGESTS.get(key)
    if known is not None:
        return known
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    if len(_FILE_DIGESTS) >= _FILE_DIGESTS_MAX:
        _FILE_DIGESTS.clear()
    _FILE_DIGESTS[key] = h.hexdigest()
    return _FILE_DIGESTS[key]


def sources_digest(sources: Iterable[Source], excluded: Callable[[str], bool] | None = None) -> str:
    """A digest of the sources' names, types, modes, sizes, link targets and contents: the
    part of a COPY/ADD cache key that says the files are the same. The same digest as
    :meth:`berth.builder.context.TarContext.digest` gives for the same files uploaded, so
    a context read in place and one uploaded share the cache."""
    h = hashlib.sha256()
    excluded = excluded or (lambda _: False)

    def walk(path: str, shown: str) -> None:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            kind = "l"
        elif stat.S_ISDIR(st.st_mode):
            kind = "d"
        elif stat.S_ISREG(st.st_mode):
            kind = "f"
        else:
            return  # fifos, sockets, devices: nobody's sources
        h.update(f"{shown}\0{kind}{stat.S_IMODE(st.st_mode):o}\0".encode())
        if kind == "l":
            h.update(os.readlink(path).encode() + b"\0")
        elif kind == "f":
            h.update(f"{st.st_size}\0{file_digest(path, st)}\0".encode())
        else:
            for child in sorted(os.listdir(path)):
                sub = f"{shown}/{child}" if shown != "." else child
                if not excluded(os.path.normpath(sub)):
                    walk(os.path.join(path, child), sub)

    for src in sources:
        walk(src.host, src.name)
    return "sha256:" + h.hexdigest()


def _walk(host: str, name: str, excluded: Callable[[str], bool]) -> Iterable[tuple[str, str]]:
    yield name, host
    if os.path.isdir(host) and not os.path.islink(host):
        for dirpath, dirnames, filenames in os.walk(host):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, host)
            for n in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                rel = os.path.normpath(os.path.join(name, rel_dir, n))
                if not excluded(rel):
                    yield rel, os.path.join(dirpath, n)
            keep = []
            for d in dirnames:
                rel = os.path.normpath(os.path.join(name, rel_dir, d))
                if os.path.islink(os.path.join(dirpath, d)) or excluded(rel):
                    continue
                keep.append(d)
                yield rel, os.path.join(dirpath, d)
            dirnames[:] = keep


def _lookup(rootfs: str, path: str, name: str) -> int | None:
    try:
        with open(resolve_in_root(rootfs, path)) as f:
            for line in f:
                fields = line.strip().split(":")
                if len(fields) > 2 and fields[0] == name:
                    return int(fields[2])
    except (OSError, ValueError, errdefs.BerthError):
        return None
    return None


def resolve_chown(rootfs: str, spec: str) -> tuple[int, int]:
    """``--chown=user[:group]`` as (uid, gid), names looked up in the rootfs; a user alone
    takes its own number as the group, as Docker does."""
    user, _, group = spec.partition(":")
    if not user:
        raise errdefs.InvalidArgument(f"invalid --chown value {spec!r}")
    uid = int(user) if user.isdigit() else _lookup(rootfs, "/etc/passwd", user)
    if uid is None:
        raise errdefs.InvalidArgument(f"unable to convert uid/gid chown string to host mapping: no such user: {user}")
    if not group:
        primary = None if user.isdigit() else _passwd_gid(rootfs, user)
        return uid, primary if primary is not None else uid
    gid = int(group) if group.isdigit() else _lookup(rootfs, "/etc/group", group)
    if gid is None:
        raise errdefs.InvalidArgument(f"unable to convert uid/gid chown string to host mapping: no such group: {group}")
    return uid, gid


def _passwd_gid(rootfs: str, user: str) -> int | None:
    try:
        with open(resolve_in_root(rootfs, "/etc/passwd")) as f:
            for line in f:
                fields = line.strip().split(":")
                if len(fields) > 3 and fields[0] == user:
                    return int(fields[3])
    except (OSError, ValueError, errdefs.BerthError):
        return None
    return None


def _own(path: str, uid: int, gid: int, mode: int | None) -> None:
    os.lchown(path, uid, gid)
    if mode is not None and not os.path.islink(path):
        os.chmod(path, mode)


def _copy_node(src: str, dst: str, uid: int, gid: int, chmod: int | None) -> None:
    st = os.lstat(src)
    if stat.S_ISLNK(st.st_mode):
        with contextlib.suppress(FileNotFoundError):
            if os.path.isdir(dst) and not os.path.islink(dst):
                shutil.rmtree(dst)
            else:
                os.unlink(dst)
        os.symlink(os.readlink(src), dst)
        os.lchown(dst, uid, gid)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
        return
    if stat.S_ISDIR(st.st_mode):
        if os.path.lexists(dst) and not os.path.isdir(dst):
            os.unlink(dst)
        os.makedirs(dst, exist_ok=True)
        _own(dst, uid, gid, chmod if chmod is not None else stat.S_IMODE(st.st_mode))
        return
    if os.path.lexists(dst) and (os.path.islink(dst) or not os.path.isfile(dst)):
        if os.path.isdir(dst) and not os.path.islink(dst):
            shutil.rmtree(dst)
        else:
            os.unlink(dst)
    shutil.copyfile(src, dst, follow_symlinks=False)
    _own(dst, uid, gid, chmod if chmod is not None else stat.S_IMODE(st.st_mode))
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_tree(src: str, dst: str, uid: int, gid: int, chmod: int | None, excluded: Callable[[str], bool], name: str) -> None:
    for rel, path in _walk(src, name, excluded):
        sub = os.path.relpath(rel, name) if rel != name else ""
        target = os.path.join(dst, sub) if sub else dst
        if path == src:
            os.makedirs(dst, exist_ok=True)
            if not os.path.islink(dst):
                st = os.stat(src)
                _own(dst, uid, gid, chmod if chmod is not None else stat.S_IMODE(st.st_mode))
            continue
        _copy_node(path, target, uid, gid, chmod)
    with contextlib.suppress(OSError):
        st = os.stat(src)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def copy_into(
    rootfs: str,
    sources: list[Source],
    dest: str,
    *,
    workdir: str = "/",
    several: bool = False,
    chown: tuple[int, int] = (0, 0),
    chmod: int | None = None,
    excluded: Callable[[str], bool] | None = None,
    unpack: Callable[[str, str], None] | None = None,
    is_archive: Callable[[str], bool] | None = None,
) -> None:
    """Copy ``sources`` to ``dest`` inside ``rootfs``. ``several``: the instruction named
    several sources or a wildcard. ADD passes ``is_archive(src_file)`` and
    ``unpack(src_file, dest_dir)``: an archive is unpacked into the destination directory."""
    excluded = excluded or (lambda _: False)
    if not dest.startswith("/"):
        dest = os.path.join(workdir or "/", dest)
    into_dir = dest.endswith("/") or dest.endswith("/.")
    if several and not into_dir:
        raise errdefs.InvalidArgument(
            "When using COPY with more than one source file, the destination must be a directory and end with a /"
        )
    uid, gid = chown
    for src in sources:
        dest_host = resolve_in_root(rootfs, dest, "destination")
        src_is_dir = os.path.isdir(src.host)
        if src_is_dir:
            if os.path.lexists(dest_host) and not os.path.isdir(dest_host):
                raise errdefs.InvalidArgument(f"cannot copy directory {src.name} to {dest}: it is a file")
            made = not os.path.lexists(dest_host)
            mkdir_all_in_root(rootfs, dest, 0o755, "destination")
            if made:
                os.lchown(dest_host, uid, gid)
            _copy_tree(src.host, dest_host, uid, gid, chmod, excluded, src.name)
            continue
        if unpack is not None and is_archive is not None and is_archive(src.host):
            unpack(src.host, mkdir_all_in_root(rootfs, dest, 0o755, "destination"))
            continue
        if into_dir or os.path.isdir(dest_host):
            mkdir_all_in_root(rootfs, dest, 0o755, "destination")
            target = os.path.join(resolve_in_root(rootfs, dest, "destination"), os.path.basename(src.name))
        else:
            parent = os.path.dirname(dest.rstrip("/")) or "/"
            mkdir_all_in_root(rootfs, parent, 0o755, "destination")
            target = dest_host
        _copy_node(src.host, target, uid, gid, chmod)
