"""The volume service: named volumes on the ``local`` driver, their records, their users.

Records (name, driver, labels, options, anonymous, created) live in berth.db's
``volumes`` table; data in ``<root>/volumes/<name>/_data``. The record is written first
and the directory made in the same transaction, so a failure leaves neither. Who uses a
volume is the container service's knowledge, asked through :class:`VolumeUsers`; the
references :meth:`VolumeService.mount` takes count too, so a volume mounted for a
container being created is in use before that container is recorded.

Messages are moby's (daemon/volumes, volume/service): ``get NAME: no such volume``,
``remove NAME: volume is in use - [ID, ID]``.
"""

from __future__ import annotations

import builtins
import os
import re
import stat
import threading
import time
from collections.abc import Mapping, Sequence

from berth.errdefs import Conflict, InvalidArgument, NotFound, from_oserror
from berth.ids import new_id
from berth.linux import syscalls as sc
from berth.metadata import Database, VolumeRow
from berth.volumes import filters as vf
from berth.volumes._types import ANONYMOUS_LABEL, NoUsers, Volume, VolumeUsers
from berth.volumes.copyup import copy_tree
from berth.volumes.local import LocalDriver, validate_options

__all__ = ["VolumeService", "dir_size", "rfc3339", "validate_name"]

_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")


def validate_name(name: str) -> None:
    """moby's local driver rule (the name becomes a directory: no ``/``, no ``..``)."""
    if not _NAME.match(name):
        raise InvalidArgument(
            f'"{name}" includes invalid characters for a local volume name, only '
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path"
        )


def rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def dir_size(path: str) -> int:
    """Bytes of the files under ``path`` (apparent sizes, hard links once, directories
    not counted; as moby's ``directory.Size``); symlinks are not followed."""
    total = 0
    seen: set[tuple[int, int]] = set()
    stack = [path]
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with it:
            for e in it:
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    stack.append(e.path)
                    continue
                if st.st_nlink > 1:
                    key = (st.st_dev, st.st_ino)
                    if key in seen:
                        continue
                    seen.add(key)
                total += st.st_size
    return total


class VolumeService:
    """Synchronous and thread-safe; the engine runs it off the event loop."""

    def __init__(
        self,
        root: str,
        db: Database,
        users: VolumeUsers | None = None,
        syscalls: sc.Syscalls | None = None,
    ) -> None:
        self.root = root
        self.db = db
        self.users: VolumeUsers = users or NoUsers()
        self.driver = LocalDriver(root, syscalls)
        self._lock = threading.RLock()

    # -- records ---------------------------------------------------------------------

    def _volume(self, row: VolumeRow) -> Volume:
        return Volume(
            name=row.name,
            driver=row.driver,
            mountpoint=self.driver.data(row.name),
            created_at=rfc3339(row.created),
            labels=dict(row.labels),
            options=dict(row.options),
            anonymous=row.anonymous,
        )

    def _row(self, name: str) -> VolumeRow:
        with self.db.containers() as tx:
            row = tx.volume(name)
        if row is None:
            raise NotFound(f"get {name}: no such volume")
        return row

    def in_use_by(self, name: str) -> builtins.list[str]:
        """Containers using ``name``: those the container service names and those
        holding it mounted, without duplicates."""
        refs = list(self.users.volume_users(name))
        refs += [r for r in self.driver.mounted_by(name) if r not in refs]
        return refs

    # -- operations --------------------------------------------------------------------

    def create(
        self,
        name: str = "",
        driver: str = "local",
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
        anonymous: bool = False,
    ) -> Volume:
        driver = driver or "local"
        if driver != LocalDriver.name:
            raise NotFound(f'error looking up volume plugin {driver}: plugin "{driver}" not found')
        if not name:
            name, anonymous = new_id(), True
        validate_name(name)
        opts = dict(options or {})
        validate_options(opts)
        lbls = dict(labels or {})
        if anonymous:
            lbls.setdefault(ANONYMOUS_LABEL, "")
        with self._lock, self.db.containers() as tx:
            existing = tx.volume(name)
            if existing is not None:
                if existing.driver != driver:
                    raise Conflict(
                        f"create {name}: volume name must be unique: a volume named {name} already "
                        f'exists with the "{existing.driver}" driver'
                    )
                return self._volume(existing)
            row = tx.add_volume(name, driver, lbls, opts, anonymous)
            self.driver.create(name)
        return self._volume(row)

    def get(self, name: str) -> Volume:
        return self._volume(self._row(name))

    def list(
        self, filters: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[builtins.list[Volume], builtins.list[str]]:
        """The volumes passing ``filters`` (by name) and warnings (none for local)."""
        f = dict(filters or {})
        vf.check(f, vf.LIST_FILTERS)
        vf.dangling_value(f)  # a bad value fails even when there are no volumes
        with self.db.containers() as tx:
            rows = tx.volumes()
        vols = [self._volume(r) for r in rows]
        return [v for v in vols if vf.matches(f, v, lambda n: bool(self.in_use_by(n)))], []

    def remove(self, name: str, force: bool = False) -> None:
        """Refused (Conflict) while in use, force or not; ``force`` makes a missing
        volume fine and removes the record even when the data cannot be deleted."""
        with self._lock:
            with self.db.containers() as tx:
                row = tx.volume(name)
            if row is None:
                if force:
                    return
                raise NotFound(f"get {name}: no such volume")
            refs = self.in_use_by(name)
            if refs:
                raise Conflict(f"remove {name}: volume is in use - [{', '.join(refs)}]")
            try:
                self.driver.remove(name)
            except Exception:
                if not force:
                    raise
            with self.db.containers() as tx:
                tx.remove_volume(name)

    def prune(
        self, filters: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[builtins.list[str], int]:
        """Remove unused volumes: anonymous ones only, unless ``all=true`` (Docker ≥ 23).
        The names removed and the bytes their data held."""
        f = dict(filters or {})
        vf.check(f, vf.PRUNE_FILTERS)
        all_volumes = vf.parse_bool("all", f["all"]) if f.get("all") else False
        f.pop("all", None)
        removed: builtins.list[str] = []
        reclaimed = 0
        with self._lock:
            vols, _ = self.list({})
            for v in vols:
                if not all_volumes and not v.anonymous:
                    continue
                if not vf.matches(f, v, lambda _: False) or self.in_use_by(v.name):
                    continue
                size = self.usage(v.name)
                try:
                    self.remove(v.name)
                except (Conflict, NotFound):
                    continue
                removed.append(v.name)
                reclaimed += size
        return removed, reclaimed

    def usage(self, name: str) -> int:
        """Bytes in the volume's data (``system df``)."""
        return dir_size(self.driver.data(name))

    # -- for the container service ------------------------------------------------------

    def mount(self, name: str, ref: str) -> str:
        """The host path of ``name`` for container ``ref``; a volume with ``type``/
        ``device`` options gets its filesystem mounted for its first user."""
        with self._lock:
            row = self._row(name)
            return self.driver.mount(name, row.options, ref)

    def unmount(self, name: str, ref: str) -> None:
        with self._lock:
            with self.db.containers() as tx:
                row = tx.volume(name)
            self.driver.unmount(name, row.options if row is not None else {}, ref)

    def copy_up(self, name: str, src_dir: str) -> bool:
        """Fill a new, empty volume with ``src_dir``'s content (the image's files at the
        mount point); nothing happens to a volume that has anything in it. True if copied."""
        data = self.get(name).mountpoint
        try:
            return copy_tree(src_dir, data)
        except OSError as exc:
            raise from_oserror(f"copy up into volume {name!r}", exc) from exc
