"""json-file logs: Docker's bytes, rotation, and the reader's tail/since/until/follow."""

from __future__ import annotations

import gzip
import os
import threading
import time

import pytest

from berth import errdefs
from berth.logs import (
    LineSplitter,
    Options,
    Record,
    Writer,
    format_fixed,
    format_nano,
    parse_time,
    read,
)
from berth.logs.jsonfile import encode, parse_size
from berth.logs.reader import log_files

T0 = parse_time("2026-11-27T21:05:05.301887007Z")


def test_record_bytes_match_docker_sample():
    # Lines from a dockerd 20.10 <id>-json.log (the logs trace's container).
    assert encode("stdout", b"out1\n", T0) == (
        b'{"log":"out1\\n","stream":"stdout","time":"2026-11-27T21:05:05.301887007Z"}\n'
    )
    assert encode("stderr", b"err1\n", parse_time("2026-11-27T21:05:05.3019Z")) == (
        b'{"log":"err1\\n","stream":"stderr","time":"2026-11-27T21:05:05.3019Z"}\n'
    )


def test_escaping_follows_moby_ffjson():
    line = b'a\tb"c\\d<e>&f\r\x01\x7f\xe2\x80\xa8\xc3\xa9\xff\n'
    assert encode("stdout", line, T0).split(b'"stream"')[0] == (
        b'{"log":"a\\u0009b\\"c\\\\d\\u003ce\\u003e\\u0026f\\r\\u0001\x7f\\u2028\xc3\xa9\\ufffd\\n",'
    )
    # A truncated multibyte sequence is one \ufffd per byte, as Go's DecodeRune gives.
    assert b"\\ufffd\\ufffd" in encode("stdout", b"\xe2\x82\n", T0)


def test_time_formats():
    assert format_nano(T0) == "2026-11-27T21:05:05.301887007Z"
    assert format_nano(T0 - 7) == "2026-11-27T21:05:05.3018870Z".replace("0Z", "Z")
    assert format_nano(parse_time("2026-01-02T03:04:05Z")) == "2026-01-02T03:04:05Z"
    assert format_fixed(parse_time("2026-01-02T03:04:05.5Z")) == "2026-01-02T03:04:05.500000000Z"
    assert parse_time("2026-11-27T22:05:05.301887007+01:00") == T0
    assert parse_time("1970-01-01T00:00:00Z") == 0
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_splitter_cuts_long_lines_at_16k_and_adds_newline_at_eof():
    sp = LineSplitter()
    assert sp.feed(b"ab") == []
    assert sp.feed(b"c\nde") == [b"abc\n"]
    big = b"x" * (16384 * 2 + 5)
    out = sp.feed(big + b"\n")
    assert out == [b"de" + b"x" * 16382, b"x" * 16384, b"x" * 7 + b"\n"]
    assert sp.feed(b"tail") == []
    assert sp.flush() == [b"tail\n"]
    assert sp.flush() == []
    # Exactly 16 KiB then the newline: a full partial, then a record of just "\n".
    assert LineSplitter().feed(b"y" * 16384 + b"\n") == [b"y" * 16384, b"\n"]


def test_options_parse_docker_units_and_reject_bad():
    assert parse_size("10m") == 10 * 1024 * 1024
    assert parse_size("1k") == 1024
    assert parse_size("20MB") == 20 * 1024 * 1024
    assert parse_size("100") == 100
    o = Options.parse({"max-size": "1k", "max-file": "5", "compress": "true"})
    assert (o.max_size, o.max_file, o.compress) == (1024, 5, True)
    assert Options.parse(dict(x.split("=") for x in o.to_args())).max_file == 5
    d = Options.parse({})
    assert (d.max_size, d.max_file, d.compress) == (10 * 1024 * 1024, 3, False)
    for bad in ({"max-size": "ten"}, {"max-file": "0"}, {"nope": "1"}, {"compress": "maybe"}):
        with pytest.raises(errdefs.InvalidArgument):
            Options.parse(bad)


def _fill(w: Writer, n: int, start: int = 0, stream: str = "stdout") -> None:
    for i in range(start, start + n):
        w.write(stream, b"line %04d\n" % i, T0)


def test_rotation_happens_when_size_reached_and_keeps_max_file(tmp_path):
    p = str(tmp_path / "c-json.log")
    rec = len(encode("stdout", b"line 0000\n", T0 + 1))
    w = Writer(p, Options(max_size=rec * 3, max_file=3))
    _fill(w, 3)
    assert log_files(p) == [p]  # exactly at max-size: rotates before the next write
    _fill(w, 1, 3)
    assert log_files(p) == [p + ".1", p]
    assert os.path.getsize(p + ".1") == rec * 3 and os.path.getsize(p) == rec
    _fill(w, 8, 4)
    w.close()
    assert log_files(p) == [p + ".2", p + ".1", p]
    lines = [r.line for r in read(p)]
    assert lines == [b"line %04d\n" % i for i in range(3, 12)]


def test_rotation_compress_and_max_file_one(tmp_path):
    p = str(tmp_path / "c-json.log")
    w = Writer(p, Options(max_size=10, max_file=3, compress=True))
    _fill(w, 4)
    w.close()
    assert log_files(p) == [p + ".2.gz", p + ".1.gz", p]
    with gzip.open(p + ".1.gz") as g:
        assert b"line 0002" in g.read()
    assert [r.line for r in read(p)] == [b"line 0001\n", b"line 0002\n", b"line 0003\n"]
    q = str(tmp_path / "one.log")
    w = Writer(q, Options(max_size=10, max_file=1))
    _fill(w, 3)
    w.close()
    assert log_files(q) == [q] and [r.line for r in read(q)] == [b"line 0002\n"]


def test_tail_across_rotated_files(tmp_path):
    p = str(tmp_path / "c-json.log")
    rec = len(encode("stdout", b"line 0000\n", T0))
    w = Writer(p, Options(max_size=rec * 2, max_file=4))
    _fill(w, 7)
    w.close()
    assert len(log_files(p)) == 4
    assert [r.line for r in read(p, tail=3)] == [b"line 0004\n", b"line 0005\n", b"line 0006\n"]
    assert [r.line for r in read(p, tail=0)] == []
    assert len(list(read(p, tail=100))) == 7
    assert len(list(read(p))) == 7


def test_since_until_are_inclusive_and_applied_after_tail(tmp_path):
    p = str(tmp_path / "c-json.log")
    w = Writer(p)
    for i in range(10):
        w.write("stderr" if i % 2 else "stdout", b"%d\n" % i, T0 + i * 1000)
    w.close()
    got = list(read(p, since=T0 + 3000, until=T0 + 6000))
    assert [r.line for r in got] == [b"3\n", b"4\n", b"5\n", b"6\n"]
    assert [r.stream for r in got] == ["stderr", "stdout", "stderr", "stdout"]
    assert [r.line for r in read(p, tail=2, since=T0 + 9000)] == [b"9\n"]
    assert got[0] == Record("stderr", T0 + 3000, b"3\n")
    assert got[0].render(timestamps=True) == b"2026-11-27T21:05:05.301890007Z 3\n"


def test_follow_picks_up_appends_and_rotation_then_stops(tmp_path):
    p = str(tmp_path / "c-json.log")
    rec = len(encode("stdout", b"line 0000\n", T0))
    w = Writer(p, Options(max_size=rec * 2, max_file=2))
    _fill(w, 1)
    done = threading.Event()
    seen: list[bytes] = []

    def consume() -> None:
        for r in read(p, follow=True, stop=done.is_set, poll=0.01):
            seen.append(r.line)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(1, 9):  # rotates every two records, several times
        time.sleep(0.03)
        _fill(w, 1, i)
    time.sleep(0.05)
    w.close()
    done.set()
    t.join(5)
    assert not t.is_alive()
    assert seen == [b"line %04d\n" % i for i in range(9)]


def test_follow_until_ends_the_stream(tmp_path):
    p = str(tmp_path / "c-json.log")
    w = Writer(p)
    for i in range(3):
        w.write("stdout", b"line %04d\n" % i, T0 + i)
    w.close()
    it = read(p, follow=True, until=T0 + 1, poll=0.01)
    assert [r.line for r in it] == [b"line 0000\n", b"line 0001\n"]


def test_reader_rejects_garbage(tmp_path):
    p = tmp_path / "c-json.log"
    p.write_bytes(b"not json\n")
    with pytest.raises(errdefs.Internal):
        list(read(str(p)))
