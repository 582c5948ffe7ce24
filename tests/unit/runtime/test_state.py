import os

import pytest

from berth.errdefs import AlreadyExists, Conflict, NotFound
from berth.runtime.state import CREATED, PAUSED, RUNNING, STOPPED, State, Status, Store


def test_status_machine():
    assert Status.can_start(CREATED) and not Status.can_start(RUNNING) and not Status.can_start(STOPPED)
    assert Status.can_kill(RUNNING) and Status.can_kill(CREATED) and not Status.can_kill(STOPPED)
    assert Status.can_delete(STOPPED, False) and not Status.can_delete(RUNNING, False) and Status.can_delete(RUNNING, True)
    assert Status.can_pause(RUNNING) and not Status.can_pause(PAUSED)
    assert Status.can_resume(PAUSED) and not Status.can_resume(RUNNING)
    assert isinstance(Status.refuse("kill", "c", STOPPED), Conflict)
    assert "not running" in Status.refuse("kill", "c", STOPPED).message
    assert "has stopped" in Status.refuse("start", "c", STOPPED).message


def test_store_round_trip_and_derived_status(tmp_path):
    s = Store(str(tmp_path))
    s.create_dir("c1")
    with pytest.raises(AlreadyExists):
        s.create_dir("c1")
    st = State("c1", "/b", "/b/rootfs", {"annotations": {"a": "b"}})
    st.pid = os.getpid()
    from berth.linux.proc import start_time

    st.start_time = start_time(st.pid)
    s.save(st)
    back = s.load("c1")
    assert back.pid == st.pid and back.annotations == {"a": "b"}
    assert s.status(back) == RUNNING
    os.mkfifo(s.fifo("c1"))
    assert s.status(back) == CREATED
    back.start_time += 1  # a reused pid is another process
    assert s.status(back) == STOPPED
    assert s.ids() == ["c1"]
    s.remove("c1")
    with pytest.raises(NotFound, match='container "c1" does not exist'):
        s.load("c1")


def test_oci_state_shape():
    st = State("c", "/b", "/b/rootfs", {})
    st.pid = 42
    doc = st.oci(RUNNING)
    assert set(doc) >= {"ociVersion", "id", "status", "pid", "bundle", "annotations"}
    assert st.oci(STOPPED)["pid"] == 0
