"""``berth cp [-a] [-L] [-q] SRC DEST`` (cli/command/container/cp.go, moby
``pkg/archive/copy.go``): copy between a container and the local filesystem.

One side is ``CONTAINER:PATH``, the other a local path or ``-`` (a tar on stdin/stdout).
From a container: ``GET /containers/{c}/archive?path=`` answers a tar whose top entry is
the source's base name, and ``X-Docker-Container-Path-Stat`` (base64 JSON: name, size,
mode as Go's os.FileMode, mtime, linkTarget). To a container: ``HEAD …/archive`` stats
the destination, the local source is tarred here and ``PUT …/archive?path=DIR`` extracts
it in the container.

Which directory the tar is extracted into, and whether its top entry is renamed, follows
docker's ``PrepareArchiveCopy``: an existing directory receives the source as is;
otherwise the tar goes to the destination's parent with its top entry renamed to the
destination's base name; ``dir/.`` copies a directory's contents, a trailing ``/``
asserts that the destination is a directory.
"""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "CopyInfo", "prepare", "rebase", "run", "split_arg", "tar_path"]

COMMAND = Command(
    "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    "Copy files/folders between a container and the local filesystem",
    [
        Flag("archive,a", help="Archive mode (copy all uid/gid information)"),
        Flag("follow-link,L", help="Always follow symbol link in SRC_PATH"),
        Flag(
            "quiet,q",
            help="Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached",
        ),
    ],
    (2, 2),
    aliases=("berth container cp", "berth cp"),
)

MODE_DIR = 1 << 31  # Go os.ModeDir
MODE_SYMLINK = 1 << 27  # Go os.ModeSymlink


class CopyInfo:
    """One side of a copy (moby archive.CopyInfo)."""

    __slots__ = ("exists", "is_dir", "path", "rebase_name")

    def __init__(
        self, path: str, exists: bool = False, is_dir: bool = False, rebase_name: str = ""
    ) -> None:
        self.path = path
        self.exists = exists
        self.is_dir = is_dir
        self.rebase_name = rebase_name


def split_arg(arg: str) -> tuple[str, str]:
    """(container, path); a local path has no container: absolute, without ``:``, or
    starting with ``.`` before the colon (``./file:name``)."""
    if arg.startswith("/"):
        return "", arg
    ctr, colon, path = arg.partition(":")
    if not colon or ctr.startswith("."):
        return "", arg
    return ctr, path


def _clean(path: str) -> str:
    import posixpath

    p = posixpath.normpath(path)
    return "/" + p.lstrip("/") if p.startswith("//") else p


def _base(path: str) -> str:
    """Go's filepath.Base (trailing slashes ignored)."""
    import posixpath

    p = path.rstrip("/")
    return posixpath.basename(p) if p else ("/" if path else ".")


def _current_dir(path: str) -> bool:
    return _base(path) == "."


def _asserts_dir(path: str) -> bool:
    return path.endswith("/") or _current_dir(path)


def split_dir_entry(path: str) -> tuple[str, str]:
    """SplitPathDirEntry: ``/a/b/.`` → (``/a/b``, ``.``); ``/a/b/`` → (``/a``, ``b``)."""
    import posixpath

    cleaned = _clean(path)
    if _current_dir(path):
        cleaned = cleaned.rstrip("/") + "/."
    return posixpath.dirname(cleaned) or ".", _base(cleaned)


def _local_abs(path: str) -> str:
    """filepath.Abs, keeping a trailing ``/`` or ``/.`` (PreserveTrailingDotOrSeparator)."""
    import os

    out = os.path.abspath(path)
    if _current_dir(path) and not _current_dir(out):
        out += "/."
    elif path.endswith("/") and not out.endswith("/"):
        out += "/"
    return out


def rebase(data: bytes, old: str, new: str) -> bytes:
    """RebaseArchiveEntries: the first ``old`` in every entry name (and hard-link target)
    replaced by ``new``."""
    import io
    import tarfile

    if old == "/":
        old = ""
    src = tarfile.open(fileobj=io.BytesIO(data), mode="r|")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for m in src:
            m.name = m.name.replace(old, new, 1)
            if m.islnk():
                m.linkname = m.linkname.replace(old, new, 1)
            dst.addfile(m, src.extractfile(m) if m.isreg() else None)
    return out.getvalue()


def tar_path(info: CopyInfo) -> bytes:
    """TarResource: ``info.path`` as a tar whose top entry is its base name (or
    ``info.rebase_name``)."""
    import io
    import os
    import tarfile

    parent, base = split_dir_entry(info.path)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(os.path.join(parent, base), arcname=info.rebase_name or base)
    return out.getvalue()


def prepare(data: bytes, src: CopyInfo, dst: CopyInfo) -> tuple[str, bytes]:
    """PrepareArchiveCopy: (directory to extract into, the tar to extract)."""
    dst_dir, dst_base = split_dir_entry(dst.path)
    _, src_base = split_dir_entry(src.path)
    src_base = src.rebase_name or src_base
    if dst.exists and dst.is_dir:
        return dst.path, data
    if dst.exists and src.is_dir:
        raise CliError("cannot copy directory")
    if not dst.exists and not src.is_dir and _asserts_dir(dst.path):
        raise CliError("no such directory")
    return dst_dir, rebase(data, src_base, dst_base)


def _stat(cli: Cli, container: str, path: str) -> dict[str, Any] | None:
    """``HEAD /containers/{c}/archive``: the path's stat, or None when it cannot be had."""
    import base64

    from berth.oci.fastjson import loads

    try:
        resp = cli.client.request("HEAD", f"/containers/{container}/archive", {"path": path})
        resp.read()
        raw = resp.headers.get("x-docker-container-path-stat", "")
        doc = loads(base64.b64decode(raw)) if raw else None
    except (BerthError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _human(n: int) -> str:
    from berth.cli.human import human_size

    return human_size(n)


def _local_dest(path: str) -> CopyInfo:
    """CopyInfoDestinationPath: follow symlinks; a missing path needs an existing parent."""
    import os

    for _ in range(11):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            parent = split_dir_entry(path)[0]
            try:
                pst = os.stat(parent)
            except OSError as exc:
                raise CliError(
                    f"stat {parent}: {exc.strerror.lower() if exc.strerror else exc}"
                ) from None
            import stat as st_mod

            if not st_mod.S_ISDIR(pst.st_mode):
                raise CliError("not a directory") from None
            return CopyInfo(path)
        import stat as st_mod

        if not st_mod.S_ISLNK(st.st_mode):
            return CopyInfo(path, True, st_mod.S_ISDIR(st.st_mode))
        target = os.readlink(path)
        if not target.startswith("/"):
            target = os.path.join(split_dir_entry(path)[0], target)
        path = target
    raise CliError(f"too many symlinks in {path}")


def _extract(data: bytes, directory: str) -> None:
    """Untar into ``directory``, refusing entries that would land outside it (an
    absolute or ``..`` name, or a path through a symlink that leads out)."""
    import io
    import os
    import tarfile

    root = os.path.realpath(directory)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
        for m in tar:
            target = os.path.normpath(os.path.join(root, m.name))
            parent = os.path.realpath(os.path.dirname(target))
            inside = (parent + "/").startswith(root + "/") and target != root
            link_ok = not m.islnk() or (
                not os.path.isabs(m.linkname) and ".." not in m.linkname.split("/")
            )
            if os.path.isabs(m.name) or ".." in m.name.split("/") or not inside or not link_ok:
                if os.path.normpath(m.name) in (".", "./"):
                    continue
                raise CliError(
                    f"invalid tar entry {m.name!r}: it would be extracted outside {directory}"
                )
            # like docker's NoLchown: files belong to the user running the copy
            m.uid, m.gid, m.uname, m.gname = os.getuid(), os.getgid(), "", ""
            tar.extract(m, root, set_attrs=True)


def copy_from(cli: Cli, container: str, src: str, dst: str, follow: bool, quiet: bool) -> None:
    import posixpath
    import sys

    if dst != "-":
        dst = _local_abs(dst)
    rebase_name = ""
    if follow:
        st = _stat(cli, container, src)
        if st and int(st.get("mode") or 0) & MODE_SYMLINK:
            target = str(st.get("linkTarget") or "")
            if not target.startswith("/"):
                target = posixpath.join(split_dir_entry(src)[0], target)
            if _current_dir(src) and not _current_dir(target):
                target += "/."
            if src.endswith("/") and not target.endswith("/"):
                target += "/"
            if _base(src) != _base(target):
                rebase_name = _base(src)
            src = target
    try:
        resp = cli.client.request("GET", f"/containers/{container}/archive", {"path": src})
        raw = resp.headers.get("x-docker-container-path-stat", "")
        data = resp.read()
    except BerthError as exc:
        raise cli.error(exc) from None
    if dst == "-":
        out = getattr(cli.out, "buffer", None) or sys.stdout.buffer
        out.write(data)
        out.flush()
        return
    import base64

    from berth.oci.fastjson import loads

    try:
        stat = loads(base64.b64decode(raw)) if raw else {}
    except ValueError:
        stat = {}
    info = CopyInfo(src, True, bool(int(stat.get("mode") or 0) & MODE_DIR), rebase_name)
    if rebase_name:
        data = rebase(data, split_dir_entry(src)[1], rebase_name)
        info.rebase_name = ""
        info.path = posixpath.join(split_dir_entry(src)[0], rebase_name)
    dst_info = _local_dest(dst)
    directory, prepared = prepare(data, info, dst_info)
    import tarfile

    try:
        _extract(prepared, directory)
    except (OSError, tarfile.TarError) as exc:
        raise CliError(str(exc)) from None
    if not quiet:
        cli.err.write(f"Successfully copied {_human(len(data))} to {dst}\n")


def copy_to(
    cli: Cli, container: str, src: str, dst: str, follow: bool, uid_gid: bool, quiet: bool
) -> None:
    import os
    import posixpath
    import sys

    if src != "-":
        src = _local_abs(src)
    dst_info = CopyInfo(dst)
    st = _stat(cli, container, dst)
    if st and int(st.get("mode") or 0) & MODE_SYMLINK:
        target = str(st.get("linkTarget") or "")
        if not target.startswith("/"):
            target = posixpath.join(split_dir_entry(dst)[0], target)
        dst_info.path = target
        st = _stat(cli, container, target)
    if st is not None:
        dst_info.exists, dst_info.is_dir = True, bool(int(st.get("mode") or 0) & MODE_DIR)
    if src == "-":
        if not dst_info.is_dir:
            raise CliError(f'destination "{container}:{dst}" must be a directory')
        data = sys.stdin.buffer.read()
        directory = dst_info.path
    else:
        path = src
        rebase_name = ""
        if follow and os.path.islink(src.rstrip("/")):
            path = os.path.realpath(src)
            if _base(src) != _base(path):
                rebase_name = _base(src)
        try:
            lst = os.lstat(path)
        except OSError as exc:
            raise CliError(f"lstat {path}: {(exc.strerror or str(exc)).lower()}") from None
        import stat as st_mod

        info = CopyInfo(path, True, st_mod.S_ISDIR(lst.st_mode), rebase_name)
        directory, data = prepare(tar_path(info), info, dst_info)
    query: dict[str, str] = {}
    if uid_gid:
        query["copyUIDGID"] = "true"
    query["noOverwriteDirNonDir"] = "true"
    query["path"] = directory
    try:
        cli.client.request(
            "PUT",
            f"/containers/{container}/archive",
            query,
            data,
            {"Content-Type": "application/x-tar"},
        ).read()
    except BerthError as exc:
        raise cli.error(exc) from None
    if not quiet and src != "-":
        cli.err.write(f"Successfully copied {_human(len(data))} to {container}:{dst_info.path}\n")


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    source, destination = args
    if not source:
        raise CliError("source can not be empty")
    if not destination:
        raise CliError("destination can not be empty")
    src_ctr, src_path = split_arg(source)
    dst_ctr, dst_path = split_arg(destination)
    # without -q, progress is shown only when stdout is a terminal (docker's rule)
    isatty = getattr(cli.out, "isatty", None)
    quiet = bool(opts["quiet"]) or not (isatty is not None and isatty())
    if src_ctr and dst_ctr:
        raise CliError("copying between containers is not supported")
    if src_ctr:
        copy_from(cli, src_ctr, src_path, dst_path, opts["follow_link"], quiet)
    elif dst_ctr:
        copy_to(cli, dst_ctr, src_path, dst_path, opts["follow_link"], opts["archive"], quiet)
    else:
        raise CliError("must specify at least one container source")
    return 0
