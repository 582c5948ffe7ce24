from __future__ import annotations

import pytest

from berth.cli.args import Command, Flag, UsageError, check_nargs, help_text, parse

FLAGS = [
    Flag("all,a"),
    Flag("quiet,q"),
    Flag("format,f", "string"),
    Flag("filter", "list"),
    Flag("tail,n", "int", 0),
]


def test_long_and_short_forms() -> None:
    opts, args = parse(["--format", "x", "-a", "--filter=a=b", "--filter", "c", "name"], FLAGS)
    assert opts == {"all": True, "quiet": False, "format": "x", "filter": ["a=b", "c"], "tail": 0}
    assert args == ["name"]
    opts, _ = parse(["-fjson", "-n=3"], FLAGS)
    assert opts["format"] == "json" and opts["tail"] == 3
    opts, _ = parse(["-aq"], FLAGS)
    assert opts["all"] and opts["quiet"]
    opts, _ = parse(["-aqf", "{{.ID}}"], FLAGS)
    assert opts["all"] and opts["quiet"] and opts["format"] == "{{.ID}}"


def test_booleans_with_values() -> None:
    opts, _ = parse(["--all=false", "-q=true"], FLAGS)
    assert opts["all"] is False and opts["quiet"] is True
    with pytest.raises(UsageError, match='invalid argument "maybe" for "-a, --all" flag'):
        parse(["--all=maybe"], FLAGS)


def test_interspersed_and_not() -> None:
    _, args = parse(["x", "-a", "y"], FLAGS)
    assert args == ["x", "y"]
    opts, args = parse(["-a", "busybox", "sh", "-c", "echo"], FLAGS, interspersed=False)
    assert opts["all"] and args == ["busybox", "sh", "-c", "echo"]
    _, args = parse(["--", "-a"], FLAGS)
    assert args == ["-a"]
    _, args = parse(["-"], FLAGS)
    assert args == ["-"]


def test_docker_error_messages() -> None:
    with pytest.raises(UsageError, match=r"^unknown flag: --nope$") as e:
        parse(["--nope"], FLAGS)
    assert e.value.status == 125
    with pytest.raises(UsageError, match=r"^unknown shorthand flag: 'z' in -az$"):
        parse(["-az"], FLAGS)
    with pytest.raises(UsageError, match=r"^flag needs an argument: --format$"):
        parse(["--format"], FLAGS)
    with pytest.raises(UsageError, match=r"^flag needs an argument: 'f' in -f$"):
        parse(["-f"], FLAGS)
    with pytest.raises(UsageError, match=r"strconv.ParseInt"):
        parse(["--tail", "x"], FLAGS)


def test_argument_counts() -> None:
    none = Command("info [OPTIONS]", "x")
    with pytest.raises(UsageError, match="'berth info' accepts no arguments") as e:
        check_nargs(none, "berth info", ["x"])
    assert e.value.status == 1
    one = Command("inspect NAME", "x", nargs=(1, 1))
    with pytest.raises(UsageError, match=r"requires exactly 1 argument$"):
        check_nargs(one, "berth inspect", [])
    many = Command("rm NAME...", "x", nargs=(1, None))
    check_nargs(many, "berth rm", ["a", "b", "c"])
    with pytest.raises(UsageError, match=r"requires at least 1 argument$"):
        check_nargs(many, "berth rm", [])


def test_help_lists_options() -> None:
    cmd = Command("version [OPTIONS]", "Show the berth version information", [Flag("format,f", "string", help="Format output")])
    out = help_text("berth version", cmd)
    assert out.startswith("Usage:  berth version [OPTIONS]\n\nShow the berth version information\n\nOptions:\n")
    assert "  -f, --format string   Format output" in out
