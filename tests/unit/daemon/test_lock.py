from __future__ import annotations

import os
from pathlib import Path

import pytest

from berth.daemon.lock import DaemonLock
from berth.errdefs import FailedPrecondition


def test_second_lock_on_the_same_root_names_the_pid(tmp_path: Path) -> None:
    a = DaemonLock(str(tmp_path / "root"), str(tmp_path / "run"))
    (tmp_path / "root").mkdir()
    (tmp_path / "run").mkdir()
    a.acquire()
    try:
        assert (tmp_path / "run/berthd.pid").read_text() == f"{os.getpid()}\n"
        b = DaemonLock(str(tmp_path / "root"), str(tmp_path / "other-run"))
        with pytest.raises(FailedPrecondition) as e:
            b.acquire()
        assert f"another berthd (pid {os.getpid()}) is running with --root" in str(e.value)
    finally:
        a.release()
    assert not (tmp_path / "run/berthd.pid").exists()
    # released: a new daemon may take it
    c = DaemonLock(str(tmp_path / "root"), str(tmp_path / "run"))
    c.acquire()
    c.release()


def test_shared_exec_root_is_refused_and_the_root_lock_let_go(tmp_path: Path) -> None:
    for d in ("r1", "r2", "run"):
        (tmp_path / d).mkdir()
    a = DaemonLock(str(tmp_path / "r1"), str(tmp_path / "run"))
    a.acquire()
    try:
        b = DaemonLock(str(tmp_path / "r2"), str(tmp_path / "run"))
        with pytest.raises(FailedPrecondition, match="--exec-root"):
            b.acquire()
        # b gave back the r2 lock it had taken
        c = DaemonLock(str(tmp_path / "r2"), str(tmp_path / "run2"))
        (tmp_path / "run2").mkdir()
        c.acquire()
        c.release()
    finally:
        a.release()
