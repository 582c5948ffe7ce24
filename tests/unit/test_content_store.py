import errno
import io
import os
import stat
import subprocess
import sys
import threading

import pytest

from berth.content import (
    DigestMismatch,
    LocalStore,
    NoSpace,
    SizeMismatch,
    write_blob,
)
from berth.content import local as local_mod
from berth.errdefs import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from berth.oci.digest import Digest, sha256_of

DATA = b"layer bytes " * 1000


@pytest.fixture
def store(tmp_path):
    return LocalStore(str(tmp_path / "content"))


def _files_under(path):
    return sorted(
        os.path.relpath(os.path.join(d, f), path) for d, _, fs in os.walk(path) for f in fs
    )


def test_commit_makes_a_read_only_verified_blob(store):
    with store.writer("layer-1", total=len(DATA), expected=sha256_of(DATA)) as w:
        w.write(DATA[:100])
        w.write(memoryview(DATA[100:]))
        assert w.offset == len(DATA)
        dgst = w.commit()
    assert dgst == sha256_of(DATA)
    path = os.path.join(store.root, "blobs", "sha256", dgst.encoded)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert store.read_blob(dgst) == DATA
    info = store.info(dgst)
    assert (info.digest, info.size) == (dgst, len(DATA))
    assert os.listdir(os.path.join(store.root, "ingest")) == []


def test_reader_reads_sequentially_and_at_offsets(store):
    dgst = write_blob(store, "r", DATA)
    with store.reader(dgst) as r:
        assert r.size == len(DATA)
        assert r.read(5) == DATA[:5]
        assert r.read_at(12, 5) == DATA[12:17]
        assert r.read(3) == DATA[5:8]  # read_at left the position alone
        r.seek(len(DATA) - 4)
        assert r.read() == DATA[-4:]


def test_digest_mismatch_is_refused_and_nothing_is_kept(store):
    w = store.writer("bad", expected=sha256_of(b"something else"))
    w.write(DATA)
    with pytest.raises(DigestMismatch, match="unexpected commit digest") as e:
        w.commit()
    assert isinstance(e.value, InvalidArgument)
    assert _files_under(store.root) == []
    with pytest.raises(NotFound):
        store.info(sha256_of(DATA))


def test_size_mismatch_at_commit_is_refused(store):
    w = store.writer("short")
    w.write(DATA)
    with pytest.raises(SizeMismatch, match=f"unexpected commit size {len(DATA)}, expected 5"):
        w.commit(size=5)
    assert _files_under(store.root) == []


def test_writing_past_the_expected_total_stops_early(store):
    w = store.writer("long", total=10)
    with pytest.raises(SizeMismatch, match="more than the expected 10 bytes"):
        w.write(b"x" * 11)
    assert _files_under(store.root) == []


def test_duplicate_commit_is_already_exists(store):
    write_blob(store, "first", DATA)
    w = store.writer("second")
    w.write(DATA)
    with pytest.raises(AlreadyExists, match=f"content {sha256_of(DATA)}: already exists"):
        w.commit()
    assert os.listdir(os.path.join(store.root, "ingest")) == []
    assert store.read_blob(sha256_of(DATA)) == DATA


def test_writer_for_content_we_have_says_already_exists(store):
    write_blob(store, "first", DATA)
    with pytest.raises(AlreadyExists):
        store.writer("again", expected=sha256_of(DATA))
    assert write_blob(store, "again", DATA, expected=sha256_of(DATA)) is None


def test_resume_continues_at_the_offset_and_verifies_the_whole(store):
    w = store.writer("resume", total=len(DATA), expected=sha256_of(DATA))
    w.write(DATA[:3000])
    w.close()  # a broken transfer: the partial stays
    st = store.status("resume")
    assert (st.offset, st.total, st.expected) == (3000, len(DATA), sha256_of(DATA))
    with store.writer("resume") as w2:  # total/expected remembered
        assert w2.offset == 3000  # the Range request starts here
        w2.write(DATA[3000:])
        assert w2.commit() == sha256_of(DATA)
    with pytest.raises(NotFound):
        store.status("resume")


def test_a_torn_ingest_record_is_rebuilt_on_resume(store):
    w = store.writer("torn")
    w.write(DATA[:100])
    w.close()
    (ingest,) = os.listdir(os.path.join(store.root, "ingest"))
    with open(os.path.join(store.root, "ingest", ingest, "meta.json"), "w") as f:
        f.write("{tor")  # a crash in the middle of writing it
    assert store.list_statuses() == []
    with store.writer("torn") as w2:
        assert w2.offset == 100
        w2.write(DATA[100:])
        assert w2.commit(expected=sha256_of(DATA)) == sha256_of(DATA)


def test_resume_with_different_expectations_is_refused(store):
    w = store.writer("x", total=10)
    w.close()
    with pytest.raises(FailedPrecondition, match="started for 10 bytes, not 11"):
        store.writer("x", total=11)
    w = store.writer("y", expected=sha256_of(b"a"))
    w.close()
    with pytest.raises(FailedPrecondition, match="abort it first"):
        store.writer("y", expected=sha256_of(b"b"))


def test_truncate_restarts_an_ingest(store):
    with store.writer("t") as w:
        w.write(b"garbage")
        w.truncate(0)
        assert w.offset == 0
        w.write(b"good")
        w.truncate(2)
        w.write(b"od")
        assert w.commit() == sha256_of(b"good")
    with store.writer("t2") as w, pytest.raises(InvalidArgument):
        w.truncate(5)


def test_write_blob_resumes_a_seekable_source(store):
    w = store.writer("wb", total=len(DATA))
    w.write(DATA[:10])
    w.close()
    assert write_blob(store, "wb", io.BytesIO(DATA), size=len(DATA)) == sha256_of(DATA)


def test_one_writer_per_ref(store):
    w = store.writer("locked")
    try:
        with pytest.raises(Unavailable, match="in use by another writer"):
            store.writer("locked")
        with pytest.raises(Unavailable):
            store.abort("locked")
    finally:
        w.close()
    store.abort("locked")


def test_a_ref_is_locked_across_processes(store):
    w = store.writer("shared")
    try:
        code = (
            "import sys; from berth.content import LocalStore\n"
            f"s = LocalStore({store.root!r})\n"
            "try:\n    s.writer('shared')\nexcept Exception as e:\n    print(type(e).__name__)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "Unavailable"
    finally:
        w.close()


def test_list_statuses_and_abort(store):
    for ref in ("a", "b/with/slashes:and-colons"):
        with store.writer(ref) as w:
            w.write(b"12")
    assert sorted(s.ref for s in store.list_statuses()) == ["a", "b/with/slashes:and-colons"]
    store.abort("a")
    assert [s.ref for s in store.list_statuses()] == ["b/with/slashes:and-colons"]
    with pytest.raises(NotFound, match="ingest 'a': not found"):
        store.abort("a")


def test_walk_info_delete(store):
    digests = {write_blob(store, f"r{i}", bytes([i]) * (i + 1)) for i in range(3)}
    open(os.path.join(store.root, "blobs", "sha256", "stray.tmp"), "w").close()
    infos = {i.digest: i.size for i in store.walk()}
    assert set(infos) == digests
    d = next(iter(digests))
    store.delete(d)
    with pytest.raises(NotFound, match=f"content {d}: not found"):
        store.delete(d)
    with pytest.raises(NotFound):
        store.read_blob(d)
    with pytest.raises(NotFound):
        store.info(d)
    assert len(list(store.walk())) == 2


def test_only_sha256_digests(store):
    with pytest.raises(InvalidArgument, match="unsupported digest algorithm"):
        store.info("sha512:" + "a" * 128)
    with pytest.raises(InvalidArgument):
        store.writer("x", expected="md5:" + "a" * 32)
    with pytest.raises(InvalidArgument, match="invalid ingest ref"):
        store.writer("")


def test_closed_writer_refuses_work(store):
    w = store.writer("c")
    w.close()
    with pytest.raises(FailedPrecondition, match="writer is closed"):
        w.write(b"x")


def test_concurrent_writers_of_the_same_content_both_end_well(store):
    results = []

    def run(ref):
        try:
            results.append(write_blob(store, ref, DATA))
        except Exception as exc:  # pragma: no cover - the test fails on it below
            results.append(exc)

    threads = [threading.Thread(target=run, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sha256_of(DATA) in results
    assert all(r in (None, sha256_of(DATA)) for r in results)
    assert store.read_blob(sha256_of(DATA)) == DATA


# -- the disk filling up ---------------------------------------------------------------


def test_enospc_during_a_write_leaves_the_store_intact(store, monkeypatch):
    kept = write_blob(store, "kept", b"committed before the disk filled")
    written = 0
    real = local_mod._write_all

    def filling(fd, data):
        nonlocal written
        if written + len(data) > 4096:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written += len(data)
        real(fd, data)

    monkeypatch.setattr(local_mod, "_write_all", filling)
    w = store.writer("big")
    w.write(b"x" * 1000)
    with pytest.raises(NoSpace, match="write ingest 'big': no space left on device") as e:
        for _ in range(10):
            w.write(b"x" * 1000)
    assert isinstance(e.value, Unavailable)
    assert store.list_statuses() == []
    assert [i.digest for i in store.walk()] == [kept]
    assert store.read_blob(kept) == b"committed before the disk filled"


def test_store_satisfies_the_narrow_protocols(store):
    from berth.content import Ingester, IngestManager, Manager, Provider

    def read(p: Provider, d: Digest) -> bytes:
        return p.read_blob(d)

    def ingest(i: Ingester) -> None:
        with i.writer("p") as w:
            w.write(b"p")
            w.commit()

    def manage(m: Manager, im: IngestManager) -> int:
        return len(list(m.walk())) + len(im.list_statuses())

    ingest(store)
    assert read(store, sha256_of(b"p")) == b"p"
    assert manage(store, store) == 1


def test_exports_match_all():
    import berth.content

    assert berth.content.__all__ == sorted(berth.content.__all__)
    for name in berth.content.__all__:
        assert getattr(berth.content, name).__module__.startswith("berth.content")
