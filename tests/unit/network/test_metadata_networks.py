"""berth.db version 4: network rows and address allocations (metadata.networks)."""

from __future__ import annotations

import sqlite3

import pytest

from berth.errdefs import AlreadyExists, FailedPrecondition, NotFound
from berth.metadata import MIGRATIONS, Database


@pytest.fixture
def db(tmp_path):
    d = Database(str(tmp_path / "berth.db"), clock=lambda: 1234.0)
    yield d
    d.close()


def test_version_4_adds_the_network_tables(tmp_path):
    path = str(tmp_path / "berth.db")
    with Database(path, migrations=MIGRATIONS[:3]) as v3, v3.containers() as tx:
        tx.add_volume("v", "local")
    with Database(path) as d:
        assert d.version == 4
        with d.containers() as tx:
            assert tx.volume("v") is not None
    tables = {
        r[0]
        for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert {"networks", "ip_allocations"} <= tables


def test_network_rows_round_trip(db):
    with db.networks() as tx:
        row = tx.add_network("a" * 64, "front", "bridge", '{"x": 1}')
        assert row.created == 1234.0
        assert tx.network("a" * 64) == row
        assert tx.network_by_name("front") == row
        tx.update_network("a" * 64, '{"x": 2}')
        assert tx.networks()[0].doc == '{"x": 2}'
        assert tx.network("b" * 64) is None


def test_a_taken_name_is_dockers_message(db):
    with db.networks() as tx:
        tx.add_network("a" * 64, "front", "bridge", "{}")
    with pytest.raises(AlreadyExists) as exc, db.networks() as tx:
        tx.add_network("b" * 64, "front", "bridge", "{}")
    assert str(exc.value) == "network with name front already exists"


def test_unknown_networks_are_not_found(db):
    with pytest.raises(NotFound, match="network nope not found"), db.networks() as tx:
        tx.remove_network("nope")
    with pytest.raises(NotFound, match="network nope not found"), db.networks() as tx:
        tx.update_network("nope", "{}")


def test_allocations_are_unique_per_network_and_need_the_network(db):
    with db.networks() as tx:
        tx.add_network("n1", "n1", "bridge", "{}")
        tx.add_network("n2", "n2", "bridge", "{}")
        tx.add_allocation("n1", "10.0.0.2", "c1")
        tx.add_allocation("n2", "10.0.0.2", "c1")  # same address, other network: fine
    with pytest.raises(AlreadyExists), db.networks() as tx:
        tx.add_allocation("n1", "10.0.0.2", "c2")
    with pytest.raises(FailedPrecondition), db.networks() as tx:
        tx.add_allocation("gone", "10.0.0.3", "c2")
    with db.networks() as tx:
        assert [(a.network_id, a.address) for a in tx.allocations_of("c1")] == [
            ("n1", "10.0.0.2"), ("n2", "10.0.0.2"),
        ]  # fmt: skip
        assert tx.remove_allocation("n1", "10.0.0.2") is True
        assert tx.remove_allocation("n1", "10.0.0.2") is False
        tx.remove_network("n2")
        assert tx.allocations_of("c1") == []
