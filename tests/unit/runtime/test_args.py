import pytest

from berth.errdefs import InvalidArgument
from berth.ocicli.args import Flag, parse
from berth.runtime.container import parse_signal

FLAGS = [Flag("bundle,b", "str", "."), Flag("detach,d"), Flag("env,e", "list"), Flag("preserve-fds", "int", 0)]


def test_forms_urfave_accepts():
    opts, rest = parse(["--bundle", "/b", "-d", "-e", "A=1", "--env=B=2", "-preserve-fds=2", "id", "--x"], FLAGS, "t")
    assert opts == {"bundle": "/b", "detach": True, "env": ["A=1", "B=2"], "preserve_fds": 2}
    assert rest == ["id", "--x"]


def test_bool_with_value_and_double_dash():
    opts, rest = parse(["--detach=false", "--", "-notaflag"], FLAGS, "t")
    assert opts["detach"] is False and rest == ["-notaflag"]


def test_unknown_flag_and_missing_value():
    with pytest.raises(InvalidArgument, match="not defined: -nope"):
        parse(["--nope"], FLAGS, "t")
    with pytest.raises(InvalidArgument, match="needs an argument"):
        parse(["--bundle"], FLAGS, "t")
    with pytest.raises(InvalidArgument, match="not a number"):
        parse(["--preserve-fds", "x"], FLAGS, "t")


@pytest.mark.parametrize("s,n", [("TERM", 15), ("SIGTERM", 15), ("15", 15), ("kill", 9), ("SIGRTMIN+1", 35), ("RTMAX", 64)])
def test_signals(s, n):
    assert parse_signal(s) == n


@pytest.mark.parametrize("s", ["NOPE", "0", "99", "SIGRTMIN+99"])
def test_bad_signals(s):
    with pytest.raises(InvalidArgument, match="invalid signal"):
        parse_signal(s)
