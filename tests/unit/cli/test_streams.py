"""Hijacked stream handling: demultiplexing, half-close, stdin pumping, detach keys."""

from __future__ import annotations

import io
import os
import socket
import threading

import pytest

from berth.api.stdcopy import frame
from berth.cli.commands._streams import (
    DEFAULT_DETACH_KEYS,
    EscapeProxy,
    OutputSink,
    StreamError,
    parse_detach_keys,
    stream,
)
from berth.client.transport import Hijacked


def test_demux_splits_frames_across_arbitrary_reads() -> None:
    out, err = io.BytesIO(), io.BytesIO()
    sink = OutputSink(out, err, tty=False)
    data = frame(1, b"hello-out\n") + frame(2, b"hello-err\n") + frame(1, b"x" * 70000)
    for i in range(0, len(data), 7):
        sink.write(data[i : i + 7])
    assert out.getvalue() == b"hello-out\n" + b"x" * 70000
    assert err.getvalue() == b"hello-err\n"


def test_demux_of_the_recorded_run_fg_rm_bytes() -> None:
    recorded = bytes.fromhex("01000000" "0000000a") + b"hello-out\n" + bytes.fromhex("02000000" "0000000a") + b"hello-err\n"
    out, err = io.BytesIO(), io.BytesIO()
    OutputSink(out, err, tty=False).write(recorded)
    assert (out.getvalue(), err.getvalue()) == (b"hello-out\n", b"hello-err\n")


def test_tty_output_is_raw() -> None:
    out, err = io.BytesIO(), io.BytesIO()
    OutputSink(out, err, tty=True).write(b"\x01\x00\x00\x00tty-out\r\n")
    assert out.getvalue() == b"\x01\x00\x00\x00tty-out\r\n" and err.getvalue() == b""


def test_system_error_frame_ends_the_stream() -> None:
    with pytest.raises(StreamError, match="boom"):
        OutputSink(io.BytesIO(), io.BytesIO(), tty=False).write(frame(3, b"boom"))


@pytest.mark.parametrize(
    ("spec", "keys"),
    [("ctrl-p,ctrl-q", b"\x10\x11"), ("ctrl-a", b"\x01"), ("a,ctrl-@,ctrl-[", b"a\x00\x1b"), ("ctrl-_", b"\x1f")],
)
def test_parse_detach_keys(spec: str, keys: bytes) -> None:
    assert parse_detach_keys(spec) == keys


def test_parse_detach_keys_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="Unknown character"):
        parse_detach_keys("ctrl-1")


def test_escape_proxy_holds_a_prefix_and_releases_it_on_mismatch() -> None:
    p = EscapeProxy(DEFAULT_DETACH_KEYS)
    assert p.feed(b"ab\x10") == (b"ab", False)
    assert p.feed(b"c") == (b"\x10c", False)
    assert p.feed(b"x\x10") == (b"x", False)
    assert p.feed(b"\x11rest") == (b"", True)
    assert EscapeProxy(b"\x10\x11").feed(b"\x10\x10\x11") == (b"\x10", True)


def _pair() -> tuple[Hijacked, socket.socket]:
    a, b = socket.socketpair()
    return Hijacked(a, b"", 101, {}), b


def test_without_stdin_the_client_half_closes_first_and_still_reads_output() -> None:
    conn, server = _pair()
    seen: list[bytes] = []

    def daemon() -> None:
        seen.append(server.recv(100))  # b"": the client half-closed its side
        server.sendall(frame(1, b"after-eof\n"))
        server.close()

    t = threading.Thread(target=daemon)
    t.start()
    out, err = io.BytesIO(), io.BytesIO()
    assert stream(conn, OutputSink(out, err, False)) is False
    t.join(5)
    assert seen == [b""]
    assert out.getvalue() == b"after-eof\n"


def test_stdin_is_copied_then_half_closed_while_output_continues() -> None:
    conn, server = _pair()
    r, w = os.pipe()
    os.write(w, b"line one\nline two\n")
    os.close(w)
    got: list[bytes] = []

    def daemon() -> None:
        data = b""
        while chunk := server.recv(100):
            data += chunk
        got.append(data)
        server.sendall(frame(1, data.upper()))
        server.close()

    t = threading.Thread(target=daemon)
    t.start()
    out = io.BytesIO()
    try:
        assert stream(conn, OutputSink(out, io.BytesIO(), False), stdin_fd=r) is False
    finally:
        os.close(r)
    t.join(5)
    assert got == [b"line one\nline two\n"]
    assert out.getvalue() == b"LINE ONE\nLINE TWO\n"


def test_detach_keys_end_the_session_without_sending_them() -> None:
    conn, server = _pair()
    r, w = os.pipe()
    os.write(w, b"ls\r\x10\x11")
    got: list[bytes] = []

    server.sendall(b"prompt$ ")  # before the session: the detach may come at once

    def daemon() -> None:
        data = b""
        try:
            while chunk := server.recv(100):
                data += chunk
        except ConnectionResetError:  # the client went with the prompt unread: fine
            pass
        got.append(data)
        server.close()

    t = threading.Thread(target=daemon)
    t.start()
    out = io.BytesIO()
    try:
        assert stream(conn, OutputSink(out, io.BytesIO(), True), r, EscapeProxy(DEFAULT_DETACH_KEYS)) is True
    finally:
        os.close(w)
        os.close(r)
    t.join(5)
    assert got == [b"ls\r"]


def test_hijacked_returns_bytes_that_came_with_the_head_first() -> None:
    a, b = socket.socketpair()
    h = Hijacked(a, b"early", 101, {})
    b.sendall(b"late")
    b.close()
    assert h.recv() == b"early"
    assert h.recv() == b"late"
    assert h.recv() == b""
    h.close()


def test_raw_terminal_restores_its_mode_once_and_survives_a_closed_terminal() -> None:
    import pty
    import termios

    from berth.cli.commands._streams import RawTerminal

    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        with RawTerminal(slave) as raw:
            assert termios.tcgetattr(slave) != before  # raw now
            raw.restore()
            assert termios.tcgetattr(slave) == before
        closed = RawTerminal(slave)
        closed.__enter__()
    finally:
        os.close(slave)
        os.close(master)
    closed.restore()  # the terminal is gone: nothing to put back, no error
