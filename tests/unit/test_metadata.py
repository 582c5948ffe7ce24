"""berth.db: versioned migrations, refusal of a newer file, records round-tripping,
sqlite3 errors as berth's categories."""

import sqlite3
import threading

import pytest

import berth.errdefs
import berth.metadata
from berth.errdefs import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from berth.metadata import MIGRATIONS, Database
from berth.metadata.db import statements
from berth.oci.digest import sha256_of
from berth.oci.image import Descriptor

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
D1 = sha256_of(b"one")
D2 = sha256_of(b"two")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        self.t += 1
        return self.t


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "berth.db")


@pytest.fixture
def db(db_path):
    d = Database(db_path, clock=Clock())
    yield d
    d.close()


def _version(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT version FROM schema_version").fetchone()[0]
    finally:
        conn.close()


def _tables(path):
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_a_new_file_gets_every_migration_in_wal_mode(db, db_path):
    assert db.version == len(MIGRATIONS) == db.latest_version
    assert _version(db_path) == len(MIGRATIONS)
    assert {"schema_version", "snapshots", "images", "content"} <= _tables(db_path)
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_a_version_1_file_is_migrated_to_the_latest_keeping_its_rows(db_path):
    with Database(db_path, migrations=MIGRATIONS[:1]) as v1:
        assert v1.version == 1
        with v1.snapshots() as tx:
            tx.create("base", None, "active", {"a": "b"})
            tx.commit("base", "sha256:c1", {})
    assert _version(db_path) == 1
    assert "images" not in _tables(db_path)

    with Database(db_path) as latest:
        assert latest.version == len(MIGRATIONS)
        with latest.snapshots() as tx:
            rec = tx.get("sha256:c1")
        assert (rec.kind, rec.labels) == ("committed", {"a": "b"})
        with latest.images() as itx:
            itx.put_image("docker.io/library/x:latest", Descriptor(INDEX, D1, 10))
    assert _version(db_path) == len(MIGRATIONS)


def test_reopening_the_latest_version_changes_nothing(db_path):
    Database(db_path).close()
    with Database(db_path) as again:
        assert again.version == len(MIGRATIONS)


def test_a_failing_migration_leaves_the_file_at_its_old_version(db_path):
    Database(db_path, migrations=MIGRATIONS[:1]).close()
    broken = [*MIGRATIONS[:1], "CREATE TABLE half (x INTEGER);\nTHIS IS NOT SQL;"]
    with pytest.raises(Exception) as exc:
        Database(db_path, migrations=broken)
    assert not isinstance(exc.value, sqlite3.Error)  # translated at the boundary
    assert "to version 2" in str(exc.value)
    assert _version(db_path) == 1
    assert "half" not in _tables(db_path)


def test_a_file_from_a_newer_berth_is_refused(db_path):
    Database(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE schema_version SET version = ?", (len(MIGRATIONS) + 3,))
    conn.commit()
    conn.close()
    with pytest.raises(
        FailedPrecondition, match=r"schema version \d+ is newer than this berth knows"
    ):
        Database(db_path)


def test_a_file_that_is_not_a_database_is_refused_clearly(db_path):
    with open(db_path, "wb") as f:
        f.write(b"this is not sqlite, just some bytes " * 100)
    with pytest.raises(FailedPrecondition, match="not a database"):
        Database(db_path)


def test_statements_splits_a_script_at_complete_statements():
    script = "CREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE TABLE b (y INTEGER);\n"
    assert statements(script) == [
        "CREATE TABLE a (x TEXT DEFAULT ';');",
        "CREATE TABLE b (y INTEGER);",
    ]


# -- snapshot records -------------------------------------------------------------------


def test_snapshot_records_round_trip(db):
    with db.snapshots() as tx:
        a = tx.create("k1", None, "active", {"x": "1"})
        assert (a.key, a.parent, a.kind, a.labels) == ("k1", None, "active", {"x": "1"})
        c = tx.commit("k1", "c1", {"y": "2"})
        assert c.id == a.id and c.key == "c1" and c.kind == "committed"
        assert c.labels == {"x": "1", "y": "2"}
        v = tx.create("v1", "c1", "view", {})
        assert v.parent == "c1"
    with db.snapshots() as tx:
        assert [r.key for r in tx.list()] == ["c1", "v1"]
        with pytest.raises(NotFound):
            tx.get("k1")


def test_snapshot_rules_are_kept_by_the_records(db):
    with db.snapshots() as tx:
        tx.create("k1", None, "active", {})
        with pytest.raises(AlreadyExists):
            tx.create("k1", None, "view", {})
        with pytest.raises(InvalidArgument, match="not committed"):
            tx.create("k2", "k1", "active", {})
        with pytest.raises(NotFound, match="parent 'nope'"):
            tx.create("k2", "nope", "active", {})
        tx.commit("k1", "c1", {})
        tx.create("k2", "c1", "active", {})
        with pytest.raises(FailedPrecondition, match="parent of 1"):
            tx.remove("c1")
        with pytest.raises(AlreadyExists):
            tx.commit("k2", "c1", {})
        tx.create("v", None, "view", {})
        with pytest.raises(FailedPrecondition, match="view snapshot, not active"):
            tx.commit("v", "cv", {})


def test_a_failing_transaction_is_rolled_back(db):
    with pytest.raises(RuntimeError), db.snapshots() as tx:
        tx.create("k1", None, "active", {})
        raise RuntimeError("boom")
    with db.snapshots() as tx:
        assert tx.list() == []


def test_two_databases_on_one_file_race_for_a_name_and_one_wins(db_path):
    Database(db_path).close()
    dbs = [Database(db_path) for _ in range(2)]
    for i, d in enumerate(dbs):
        with d.snapshots() as tx:
            tx.create(f"extract-{i}", None, "active", {})
    barrier = threading.Barrier(2)
    results = []

    def commit(i):
        barrier.wait()
        try:
            with dbs[i].snapshots() as tx:
                tx.commit(f"extract-{i}", "sha256:same", {})
            results.append("ok")
        except AlreadyExists:
            results.append("exists")

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for d in dbs:
        d.close()
    assert sorted(results) == ["exists", "ok"]


# -- image refs and content labels ----------------------------------------------------------


def test_image_refs_round_trip_and_keep_their_created_time(db):
    with db.images() as tx:
        first = tx.put_image(
            "docker.io/library/busybox:latest", Descriptor(INDEX, D1, 123), {"l": "v"}
        )
    with db.images() as tx:
        moved = tx.put_image("docker.io/library/busybox:latest", Descriptor(MANIFEST, D2, 456))
        tx.put_image("docker.io/library/alpine:3", Descriptor(MANIFEST, D2, 456))
    assert first.target == Descriptor(INDEX, D1, 123) and first.labels == {"l": "v"}
    assert moved.target.digest == D2 and moved.target.media_type == MANIFEST
    assert moved.created == first.created and moved.updated > first.updated
    with db.images() as tx:
        assert [r.name for r in tx.list_images()] == [
            "docker.io/library/alpine:3",
            "docker.io/library/busybox:latest",
        ]
        assert len(tx.list_images(digest=D2)) == 2
        assert tx.list_images(digest=D1) == []
        tx.delete_image("docker.io/library/alpine:3")
        with pytest.raises(NotFound, match=r"image 'docker\.io/library/alpine:3': not found"):
            tx.get_image("docker.io/library/alpine:3")
        with pytest.raises(NotFound):
            tx.delete_image("docker.io/library/alpine:3")


def test_content_labels_round_trip(db):
    with db.images() as tx:
        tx.set_content_labels(D1, {"berth.gc.root": "2026-11-27", "berth.gc.ref.content.0": D2})
        tx.set_content_labels(D2, {})
        assert tx.get_content(D1).labels == {
            "berth.gc.ref.content.0": D2,
            "berth.gc.root": "2026-11-27",
        }
        tx.set_content_labels(D1, {"berth.gc.root": "x"})
        assert tx.get_content(D1).labels == {"berth.gc.root": "x"}
        assert [c.digest for c in tx.list_content()] == sorted([D1, D2])
        tx.delete_content(D1)
        with pytest.raises(NotFound):
            tx.get_content(D1)
        with pytest.raises(InvalidArgument):
            tx.set_content_labels("sha256:nothex", {})


def test_records_survive_reopening(db_path):
    with Database(db_path) as d, d.images() as tx:
        tx.put_image("a:1", Descriptor(MANIFEST, D1, 1))
    with Database(db_path) as d, d.images() as tx:
        assert tx.get_image("a:1").target.digest == D1


def test_exports_are_sorted_and_present():
    assert berth.metadata.__all__ == sorted(
        berth.metadata.__all__, key=lambda n: (not n.isupper(), n)
    )
    for name in berth.metadata.__all__:
        assert hasattr(berth.metadata, name)


def test_an_in_memory_database_works_for_tests():
    with Database(":memory:") as d:
        assert d.version == len(MIGRATIONS)
        with d.snapshots() as tx:
            tx.create("k", None, "active", {})
        with d.snapshots() as tx:
            assert [r.key for r in tx.list()] == ["k"]


def test_a_closed_database_raises_a_berth_error_not_sqlite3(db_path):
    d = Database(db_path)
    d.close()
    with pytest.raises(berth.errdefs.BerthError), d.images() as tx:
        tx.list_images()
