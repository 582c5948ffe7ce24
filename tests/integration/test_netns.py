"""berth.network.netns: a namespace made on a throwaway thread, loopback up, bound at a
path; the daemon's own namespace untouched; nothing left after remove."""

from __future__ import annotations

import os
import subprocess

import pytest

from berth.network import netns

pytestmark = pytest.mark.root


def test_create_and_remove(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "netns" / "n1")
    mine = os.stat("/proc/self/ns/net").st_ino
    assert netns.create(path) == path
    try:
        assert os.stat(path).st_ino != mine  # the bind mount is a namespace of its own
        assert os.stat("/proc/self/ns/net").st_ino == mine
        links = subprocess.run(["nsenter", f"--net={path}", "ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
        assert len(links.splitlines()) == 1 and "lo:" in links and "UP" in links.split(">")[0]
    finally:
        netns.remove(path)
    assert not os.path.exists(path)
    with open("/proc/self/mountinfo") as f:
        assert path not in f.read()
