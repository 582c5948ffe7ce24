from __future__ import annotations

import pytest

from berth.api.stdcopy import STDERR, STDOUT, SYSERR, Demuxer, demux, frame


def test_frames_as_in_the_run_fg_rm_trace() -> None:
    data = frame(STDOUT, b"hello-out\n") + frame(STDERR, b"hello-err\n")
    assert data == (
        b"\x01\x00\x00\x00\x00\x00\x00\x0ahello-out\n"
        b"\x02\x00\x00\x00\x00\x00\x00\x0ahello-err\n"
    )
    assert len(data) == 36
    assert demux(data) == [(1, b"hello-out\n"), (2, b"hello-err\n")]


def test_incremental_decoding_byte_by_byte() -> None:
    data = frame(STDOUT, b"a" * 300) + frame(SYSERR, b"boom") + frame(STDERR, b"")
    d = Demuxer()
    got = []
    for i in range(len(data)):
        got += d.feed(data[i : i + 1])
    assert got == [(1, b"a" * 300), (3, b"boom"), (2, b"")]
    assert d.pending == 0


def test_partial_frame_is_held_back() -> None:
    d = Demuxer()
    assert d.feed(frame(STDOUT, b"xyz")[:9]) == []
    assert d.pending == 9
    assert d.feed(b"yz") == [(1, b"xyz")]
    with pytest.raises(ValueError, match="truncated"):
        demux(frame(STDOUT, b"xyz")[:-1])


def test_a_tty_stream_is_not_mistaken_for_frames() -> None:
    with pytest.raises(ValueError, match="invalid"):
        Demuxer().feed(b"tty-out\r\ntty-err\r\n")


def test_invalid_stream_number() -> None:
    with pytest.raises(ValueError):
        frame(4, b"x")
