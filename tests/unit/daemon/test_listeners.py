from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from berth.daemon.config import DaemonConfig
from berth.daemon.listeners import open_listeners, parse_host
from berth.errdefs import InvalidArgument


@pytest.mark.parametrize(
    ("addr", "want"),
    [
        ("unix:///run/berth/berth.sock", ("unix", "/run/berth/berth.sock", 0)),
        ("/tmp/x.sock", ("unix", "/tmp/x.sock", 0)),
        ("tcp://0.0.0.0:2376", ("tcp", "0.0.0.0", 2376)),
        ("tcp://:2377", ("tcp", "127.0.0.1", 2377)),
        ("tcp://example", ("tcp", "example", 2376)),
        ("tcp://[::1]:9", ("tcp", "::1", 9)),
    ],
)
def test_parse_host(addr: str, want: tuple[str, str, int]) -> None:
    assert parse_host(addr) == want


@pytest.mark.parametrize("addr", ["unix://rel.sock", "fd://", "tcp://h:x", "tcp://h:70000", "nope"])
def test_bad_hosts(addr: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_host(addr)


def test_tcp_without_tls_verification_is_refused(tmp_path: Path) -> None:
    cfg = DaemonConfig(hosts=["tcp://127.0.0.1:23761"])
    with pytest.raises(InvalidArgument, match=r"refusing to listen on tcp://127.0.0.1:23761 without TLS client verification"):
        open_listeners(cfg)
    cfg = DaemonConfig(hosts=["tcp://127.0.0.1:23761"], tls=True, tlscert="c", tlskey="k")
    with pytest.raises(InvalidArgument, match="refusing"):
        open_listeners(cfg)


def test_unix_socket_mode_and_stale_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "berth.sock"
    path.parent.mkdir()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # a socket file nobody serves
    cfg = DaemonConfig(hosts=[f"unix://{path}"], group="berth-test-no-such-group")
    (lst,) = open_listeners(cfg)
    try:
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert not st.st_mode & stat.S_IWOTH
    finally:
        lst.close()
    assert not path.exists()


def test_socket_group_when_it_exists(tmp_path: Path) -> None:
    import grp

    gid = os.getgid()
    name = grp.getgrgid(gid).gr_name
    path = tmp_path / "g.sock"
    (lst,) = open_listeners(DaemonConfig(hosts=[f"unix://{path}"], group=name, group_explicit=True))
    try:
        assert os.stat(path).st_gid == gid
    finally:
        lst.close()


def test_explicit_missing_group_is_an_error(tmp_path: Path) -> None:
    cfg = DaemonConfig(hosts=[f"unix://{tmp_path}/x.sock"], group="berth-test-no-such-group", group_explicit=True)
    with pytest.raises(InvalidArgument, match="does not exist"):
        open_listeners(cfg)


def test_a_regular_file_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "berth.sock"
    path.write_text("precious")
    with pytest.raises(InvalidArgument, match="not a socket"):
        open_listeners(DaemonConfig(hosts=[f"unix://{path}"], group="berth-test-no-such-group"))
    assert path.read_text() == "precious"
