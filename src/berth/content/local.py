"""The content store on local disk.

Layout under the store root (``/var/lib/berth/content``)::

    blobs/sha256/<hex>          committed blobs, mode 0444, never rewritten
    ingest/<sha256(ref)>/       one unfinished write per ref
        data                    the bytes so far (its size is the resume offset)
        meta.json               {"ref", "total", "expected", "started_at"}

A **ref** names an ingest, chosen by the caller so that a retry finds its partial again
(the puller uses ``layer-<digest>``); the directory is named by the ref's sha256 so any
string is safe. Only one writer holds a ref at a time (``flock`` on ``data``: other
threads and processes get Unavailable).

A commit makes bytes visible only once they are right: fsync the data, check the size
and the digest (a mismatch removes the partial: nothing unverified is kept), make it
read-only, then ``link(2)`` it to ``blobs/sha256/<hex>`` — an atomic no-replace, so two
writers of the same content race safely and the loser gets AlreadyExists — and fsync
the directory. The disk filling up (ENOSPC, EDQUOT) at any step removes the partial and
raises :class:`NoSpace`; committed blobs are never touched by a failing write.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from berth.content._types import (
    DigestMismatch,
    Info,
    NoSpace,
    SizeMismatch,
    Status,
)

if TYPE_CHECKING:
    from berth.content._types import BlobReader, Store, Writer
from berth.errdefs import (
    AlreadyExists,
    BerthError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
    from_oserror,
)
from berth.oci.digest import SHA256, Digest, Digester

__all__ = ["BlobFile", "LocalStore", "LocalWriter"]

_CHUNK = 1 << 20
_NOSPACE = (errno.ENOSPC, errno.EDQUOT)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """os.write until all of ``data`` is written. The one place bytes reach the disk,
    so that tests can make the disk "fill up" here."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _oserror(what: str, exc: OSError) -> BerthError:
    if exc.errno in _NOSPACE:
        return NoSpace(f"{what}: no space left on device")
    return from_oserror(what, exc)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_ref(ref: str) -> None:
    if not isinstance(ref, str) or not ref or "\0" in ref or len(ref) > 4096:
        raise InvalidArgument(f"invalid ingest ref {ref!r}")


class BlobFile(io.FileIO):
    """A committed blob opened for reading: a file object plus ``size`` and
    ``read_at`` (``pread``, independent of the file position)."""

    def __init__(self, path: str) -> None:
        super().__init__(path, "r")
        self._size = os.fstat(self.fileno()).st_size

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, n: int) -> bytes:
        return os.pread(self.fileno(), n, offset)


class LocalStore:
    """:class:`~berth.content.Store` over a directory (see the module docstring)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._blobs = os.path.join(root, "blobs", SHA256)
        self._ingest = os.path.join(root, "ingest")
        try:
            os.makedirs(self._blobs, 0o755, exist_ok=True)
            os.makedirs(self._ingest, 0o700, exist_ok=True)
        except OSError as exc:
            raise _oserror(f"create content store {root!r}", exc) from exc

    # -- paths ---------------------------------------------------------------------------

    def blob_path(self, digest: Digest | str) -> str:
        """Where the blob lives (or would): ``blobs/sha256/<hex>``."""
        return os.path.join(self._blobs, Digest(digest).encoded)

    def _ingest_dir(self, ref: str) -> str:
        return os.path.join(self._ingest, hashlib.sha256(ref.encode()).hexdigest())

    # -- Provider ------------------------------------------------------------------------

    def reader(self, digest: Digest | str) -> BlobFile:
        path = self.blob_path(digest)
        try:
            return BlobFile(path)
        except FileNotFoundError:
            raise NotFound(f"content {digest}: not found") from None
        except OSError as exc:
            raise from_oserror(f"open content {digest}", exc) from exc

    def read_blob(self, digest: Digest | str) -> bytes:
        with self.reader(digest) as r:
            return r.read_at(0, r.size)

    # -- Manager -------------------------------------------------------------------------

    def info(self, digest: Digest | str) -> Info:
        digest = Digest(digest)
        try:
            st = os.stat(self.blob_path(digest))
        except FileNotFoundError:
            raise NotFound(f"content {digest}: not found") from None
        except OSError as exc:
            raise from_oserror(f"stat content {digest}", exc) from exc
        return Info(digest, st.st_size, st.st_mtime, st.st_mtime)

    def exists(self, digest: Digest | str) -> bool:
        return os.path.exists(self.blob_path(digest))

    def walk(self) -> Iterator[Info]:
        """Every committed blob, in no particular order."""
        try:
            names = os.listdir(self._blobs)
        except OSError as exc:
            raise from_oserror(f"list {self._blobs!r}", exc) from exc
        for name in names:
            try:
                digest = Digest.from_hex(name)
            except InvalidArgument:
                continue  # not a blob (a stray file): not ours to report
            try:
                yield self.info(digest)
            except NotFound:
                continue  # deleted while walking

    def delete(self, digest: Digest | str) -> None:
        digest = Digest(digest)
        try:
            os.unlink(self.blob_path(digest))
        except FileNotFoundError:
            raise NotFound(f"content {digest}: not found") from None
        except OSError as exc:
            raise from_oserror(f"delete content {digest}", exc) from exc

    # -- Ingester ------------------------------------------------------------------------

    def writer(
        self, ref: str, *, total: int = 0, expected: Digest | str | None = None
    ) -> LocalWriter:
        """Open (or resume) the ingest ``ref``. With ``expected`` given and already in
        the store, AlreadyExists at once: the caller skips the download."""
        _check_ref(ref)
        if total < 0:
            raise InvalidArgument(f"ingest {ref!r}: negative total {total}")
        want = Digest(expected) if expected is not None else None
        if want is not None and self.exists(want):
            raise AlreadyExists(f"content {want}: already exists")
        return LocalWriter._open(self, ref, total, want)

    # -- IngestManager -------------------------------------------------------------------

    def status(self, ref: str) -> Status:
        _check_ref(ref)
        st = self._read_status(self._ingest_dir(ref))
        if st is None:
            raise NotFound(f"ingest {ref!r}: not found")
        return st

    def list_statuses(self) -> list[Status]:
        out = []
        for name in sorted(os.listdir(self._ingest)):
            st = self._read_status(os.path.join(self._ingest, name))
            if st is not None:
                out.append(st)
        return out

    def abort(self, ref: str) -> None:
        """Remove the ingest ``ref`` and its partial data."""
        _check_ref(ref)
        d = self._ingest_dir(ref)
        try:
            fd = os.open(os.path.join(d, "data"), os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except FileNotFoundError:
            if not os.path.isdir(d):
                raise NotFound(f"ingest {ref!r}: not found") from None
            shutil.rmtree(d, ignore_errors=True)
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Unavailable(f"ingest {ref!r}: in use by another writer") from None
            shutil.rmtree(d, ignore_errors=True)
        finally:
            os.close(fd)

    def _read_status(self, d: str) -> Status | None:
        try:
            with open(os.path.join(d, "meta.json"), "rb") as f:
                meta = json.loads(f.read())
            st = os.stat(os.path.join(d, "data"))
            return Status(
                ref=meta["ref"],
                offset=st.st_size,
                total=meta.get("total") or 0,
                expected=Digest(meta["expected"]) if meta.get("expected") else None,
                started_at=meta.get("started_at") or st.st_mtime,
                updated_at=st.st_mtime,
            )
        except (OSError, ValueError, KeyError, TypeError, InvalidArgument):
            return None  # not an ingest, or one torn by a crash: abort() cleans by ref


class LocalWriter:
    """An open ingest of a :class:`LocalStore` (see :class:`~berth.content.Writer`)."""

    def __init__(
        self,
        store: LocalStore,
        ref: str,
        directory: str,
        fd: int,
        total: int,
        expected: Digest | None,
        started_at: float,
    ) -> None:
        self._store = store
        self._ref = ref
        self._dir = directory
        self._fd: int | None = fd
        self._total = total
        self._expected = expected
        self._started_at = started_at
        self._digester = Digester()

    @classmethod
    def _open(cls, store: LocalStore, ref: str, total: int, expected: Digest | None) -> LocalWriter:
        d = store._ingest_dir(ref)
        data = os.path.join(d, "data")
        for _ in range(3):
            created = not os.path.isdir(d)
            try:
                os.makedirs(d, 0o700, exist_ok=True)
                fd = os.open(data, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            except OSError as exc:
                if created:
                    shutil.rmtree(d, ignore_errors=True)
                raise _oserror(f"open ingest {ref!r}", exc) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise Unavailable(f"ingest {ref!r}: in use by another writer") from None
            # An abort may have removed the file between our open and our lock: then
            # the lock is on a ghost, and we start again on the path as it is now.
            try:
                if os.stat(data).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        else:
            raise Unavailable(f"ingest {ref!r}: removed while opening, repeatedly")
        try:
            w = cls._resume(store, ref, d, fd, total, expected)
        except BaseException:
            if created:
                shutil.rmtree(d, ignore_errors=True)
            os.close(fd)
            raise
        return w

    @classmethod
    def _resume(
        cls, store: LocalStore, ref: str, d: str, fd: int, total: int, expected: Digest | None
    ) -> LocalWriter:
        meta_path = os.path.join(d, "meta.json")
        meta: dict[str, object] = {}
        try:
            with open(meta_path, "rb") as f:
                meta = json.loads(f.read())
        except FileNotFoundError:
            pass
        except (OSError, ValueError):
            meta = {}  # a torn meta from a crash: start the record again
        had_total = int(meta.get("total") or 0)  # type: ignore[call-overload]
        had_expected = meta.get("expected") or None
        if total and had_total and total != had_total:
            raise FailedPrecondition(
                f"ingest {ref!r}: started for {had_total} bytes, not {total}: abort it first"
            )
        if expected and had_expected and expected != had_expected:
            raise FailedPrecondition(
                f"ingest {ref!r}: started for {had_expected}, not {expected}: abort it first"
            )
        total = total or had_total
        expected = expected or (Digest(str(had_expected)) if had_expected else None)
        started = meta.get("started_at")
        started_at = float(started) if isinstance(started, int | float) else time.time()
        new_meta = {
            "ref": ref,
            "total": total,
            "expected": expected,
            "started_at": started_at,
        }
        if new_meta != meta:
            try:
                _atomic_write(meta_path, json.dumps(new_meta).encode())
            except OSError as exc:
                raise _oserror(f"write ingest {ref!r}", exc) from exc
        w = cls(store, ref, d, fd, total, expected, started_at)
        w._rehash()
        return w

    def _rehash(self) -> None:
        """Hash what a previous writer left, so the digest covers the whole blob."""
        assert self._fd is not None
        offset = 0
        while True:
            chunk = os.pread(self._fd, _CHUNK, offset)
            if not chunk:
                break
            self._digester.update(chunk)
            offset += len(chunk)
        os.lseek(self._fd, offset, os.SEEK_SET)

    # -- the Writer protocol -------------------------------------------------------------

    @property
    def ref(self) -> str:
        return self._ref

    @property
    def offset(self) -> int:
        """Bytes written so far: where a resumed download continues."""
        return self._digester.size

    def digest(self) -> Digest:
        return self._digester.digest()

    def status(self) -> Status:
        fd = self._live()
        return Status(
            ref=self._ref,
            offset=self.offset,
            total=self._total,
            expected=self._expected,
            started_at=self._started_at,
            updated_at=os.fstat(fd).st_mtime,
        )

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        fd = self._live()
        n = len(data)
        if self._total and self.offset + n > self._total:
            self._discard()
            raise SizeMismatch(
                f"ingest {self._ref!r}: more than the expected {self._total} bytes"
            )
        try:
            _write_all(fd, data)
        except OSError as exc:
            self._discard()
            raise _oserror(f"write ingest {self._ref!r}", exc) from exc
        self._digester.update(data)
        return n

    def truncate(self, size: int) -> None:
        """Cut the partial back to ``size`` bytes (0: start over, when a server ignores
        a Range request)."""
        fd = self._live()
        if not 0 <= size <= self.offset:
            raise InvalidArgument(
                f"ingest {self._ref!r}: cannot truncate to {size} (offset {self.offset})"
            )
        os.ftruncate(fd, size)
        self._digester = Digester()
        self._rehash()

    def commit(self, size: int = 0, expected: Digest | str | None = None) -> Digest:
        """Verify and publish the blob; returns its digest. ``size``/``expected`` default
        to what the writer was opened with."""
        fd = self._live()
        size = size or self._total
        want = Digest(expected) if expected is not None else self._expected
        try:
            os.fsync(fd)
        except OSError as exc:
            self._discard()
            raise _oserror(f"commit {self._ref!r}: sync", exc) from exc
        if size and size != self.offset:
            self._discard()
            raise SizeMismatch(
                f"commit {self._ref!r}: unexpected commit size {self.offset}, expected {size}"
            )
        dgst = self._digester.digest()
        if want is not None and dgst != want:
            self._discard()
            raise DigestMismatch(
                f"commit {self._ref!r}: unexpected commit digest {dgst}, expected {want}"
            )
        target = self._store.blob_path(dgst)
        try:
            os.fchmod(fd, 0o444)
            os.link(os.path.join(self._dir, "data"), target)
        except FileExistsError:
            self._discard()
            raise AlreadyExists(f"content {dgst}: already exists") from None
        except OSError as exc:
            self._discard()
            raise _oserror(f"commit {self._ref!r}", exc) from exc
        self._discard()
        try:
            _fsync_dir(os.path.dirname(target))
        except OSError as exc:
            raise _oserror(f"commit {self._ref!r}: sync blobs directory", exc) from exc
        return dgst

    def close(self) -> None:
        """Release the ref; the partial stays for :meth:`LocalStore.writer` to resume."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> LocalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    def _live(self) -> int:
        if self._fd is None:
            raise FailedPrecondition(f"ingest {self._ref!r}: writer is closed")
        return self._fd

    def _discard(self) -> None:
        """Remove the partial (we still hold the lock) and close."""
        shutil.rmtree(self._dir, ignore_errors=True)
        self.close()


def _atomic_write(path: str, data: bytes) -> None:
    # berth.linux.fs.atomic_write leaves its temp file behind when the disk is full;
    # here the whole ingest directory is removed on failure, so a plain temp is enough.
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


if TYPE_CHECKING:  # mypy checks the implementation against the protocols

    def _is_store(s: LocalStore) -> Store:
        return s

    def _is_writer(w: LocalWriter) -> Writer:
        return w

    def _is_reader(r: BlobFile) -> BlobReader:
        return r
