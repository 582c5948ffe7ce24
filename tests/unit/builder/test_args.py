"""Instruction arguments: ENV/LABEL pairs, ARG, HEALTHCHECK, EXPOSE, COPY sources, --chmod."""

from __future__ import annotations

import pytest

from berth import errdefs
from berth.builder.args import (
    parse_arg,
    parse_chmod,
    parse_copy_sources,
    parse_expose,
    parse_healthcheck,
    parse_kv,
    parse_words,
)
from berth.builder.dockerfile import Instruction, parse

SECOND = 1_000_000_000


def ins(text: str) -> Instruction:
    """The last instruction of a Dockerfile (earlier lines set the escape directive)."""
    return parse(text).instructions[-1]


@pytest.mark.parametrize(
    ("text", "env", "pairs"),
    [
        # the Dockerfile reference's own examples
        ('ENV MY_NAME="John Doe"', None, [("MY_NAME", "John Doe")]),
        ("ENV MY_DOG=Rex\\ The\\ Dog", None, [("MY_DOG", "Rex The Dog")]),
        ("ENV MY_CAT=fluffy", None, [("MY_CAT", "fluffy")]),
        (
            'ENV MY_NAME="John Doe" MY_DOG=Rex\\ The\\ Dog \\\n    MY_CAT=fluffy',
            None,
            [("MY_NAME", "John Doe"), ("MY_DOG", "Rex The Dog"), ("MY_CAT", "fluffy")],
        ),
        ("ENV ONE TWO= THREE=world", None, [("ONE", "TWO= THREE=world")]),
        ("ENV myName John Doe", None, [("myName", "John Doe")]),
        ("ENV myName  'John  Doe'", None, [("myName", "John  Doe")]),
        (
            'LABEL "com.example.vendor"="ACME Incorporated"',
            None,
            [("com.example.vendor", "ACME Incorporated")],
        ),
        (
            'LABEL com.example.label-with-value="foo"',
            None,
            [("com.example.label-with-value", "foo")],
        ),
        ('LABEL version="1.0"', None, [("version", "1.0")]),
        (
            'LABEL description="This text illustrates \\\nthat label-values can span multiple lines."',
            None,
            [("description", "This text illustrates that label-values can span multiple lines.")],
        ),
        (
            'LABEL multi.label1="value1" multi.label2="value2" other="value3"',
            None,
            [("multi.label1", "value1"), ("multi.label2", "value2"), ("other", "value3")],
        ),
        ("ENV A=", None, [("A", "")]),
        ('ENV A=""', None, [("A", "")]),
        ("ENV PATH=/x:$PATH", None, [("PATH", "/x:$PATH")]),
        ("ENV PATH=/x:$PATH", {"PATH": "/bin"}, [("PATH", "/x:/bin")]),
        ("ENV A=${B:-def} C='$B'", {}, [("A", "def"), ("C", "$B")]),
        ("ENV A=${B:-def}", None, [("A", "${B:-def}")]),
        ("ENV $K=v", {"K": "key"}, [("key", "v")]),
        ("ENV A=\\$B", {"B": "x"}, [("A", "$B")]),
        ("# escape=`\nFROM x\nENV P=c:\\dir A=`$B", {"B": "x"}, [("P", "c:\\dir"), ("A", "$B")]),
    ],
)
def test_parse_kv(text: str, env: dict[str, str] | None, pairs: list[tuple[str, str]]) -> None:
    assert parse_kv(ins(text), env) == pairs


@pytest.mark.parametrize(
    ("rest", "words"),
    [
        ('a="b c" d', ['a="b c"', "d"]),
        ("a='b c' d", ["a='b c'", "d"]),
        ("a=b\\ c d", ["a=b\\ c", "d"]),
        ('a="b\\" c"', ['a="b\\" c"']),
        ("a='b\\' c", ["a='b\\'", "c"]),
        ('a=""', ['a=""']),
        ("  x   y  ", ["x", "y"]),
        ("x\\", ["x"]),
    ],
)
def test_parse_words(rest: str, words: list[str]) -> None:
    assert parse_words(rest) == words


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("ARG user1", [("user1", None)]),
        ("ARG buildno=1", [("buildno", "1")]),
        ("ARG a b=2 c=", [("a", None), ("b", "2"), ("c", "")]),
        ('ARG msg="hello world"', [("msg", '"hello world"')]),
        ("ARG CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}", [("CONT_IMG_VER", "${CONT_IMG_VER:-v1.0.0}")]),
        ("ARG x=a=b", [("x", "a=b")]),
    ],
)
def test_parse_arg(text: str, args: list[tuple[str, str | None]]) -> None:
    assert parse_arg(ins(text)) == args


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HEALTHCHECK NONE", {"test": ["NONE"]}),
        ("HEALTHCHECK none", {"test": ["NONE"]}),
        (
            "HEALTHCHECK --interval=5m --timeout=3s CMD curl -f http://localhost/ || exit 1",
            {
                "test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
                "interval": 300 * SECOND,
                "timeout": 3 * SECOND,
            },
        ),
        ('HEALTHCHECK CMD ["curl", "-f", "x"]', {"test": ["CMD", "curl", "-f", "x"]}),
        ("HEALTHCHECK cmd true", {"test": ["CMD-SHELL", "true"]}),
        (
            "HEALTHCHECK --start-period=1m30s --start-interval=500ms --retries=3 CMD true",
            {
                "test": ["CMD-SHELL", "true"],
                "start_period": 90 * SECOND,
                "start_interval": SECOND // 2,
                "retries": 3,
            },
        ),
        ("HEALTHCHECK --interval=0s CMD true", {"test": ["CMD-SHELL", "true"]}),
        (
            "HEALTHCHECK --interval=1.5h CMD true",
            {"test": ["CMD-SHELL", "true"], "interval": 5400 * SECOND},
        ),
        (
            "HEALTHCHECK --timeout=1ms CMD true",
            {"test": ["CMD-SHELL", "true"], "timeout": 1_000_000},
        ),
    ],
)
def test_parse_healthcheck(text: str, expected: dict[str, object]) -> None:
    full = {
        "interval": 0,
        "timeout": 0,
        "start_period": 0,
        "start_interval": 0,
        "retries": 0,
        **expected,
    }
    assert parse_healthcheck(ins(text)) == full


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("HEALTHCHECK --interval=1us CMD true", 'Interval "interval" cannot be less than 1ms'),
        ("HEALTHCHECK --timeout=999us CMD true", 'Interval "timeout" cannot be less than 1ms'),
        ("HEALTHCHECK --start-period=10 CMD true", 'time: missing unit in duration "10"'),
        ("HEALTHCHECK --interval=5x CMD true", 'time: unknown unit "x" in duration "5x"'),
        ("HEALTHCHECK --interval=abc CMD true", 'time: invalid duration "abc"'),
        ("HEALTHCHECK --retries=0 CMD true", "--retries must be at least 1 (not 0)"),
        ("HEALTHCHECK --retries=-2 CMD true", "--retries must be at least 1 (not -2)"),
        ("HEALTHCHECK --retries=x CMD true", 'strconv.ParseInt: parsing "x": invalid syntax'),
        (
            "HEALTHCHECK --retries=9999999999 CMD true",
            'strconv.ParseInt: parsing "9999999999": value out of range',
        ),
    ],
)
def test_healthcheck_errors(text: str, message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument) as exc:
        parse(text)
    assert str(exc.value) == f"dockerfile parse error line 1: {message}"


def test_healthcheck_none_takes_no_arguments() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r"HEALTHCHECK NONE takes no arguments$"):
        parse("HEALTHCHECK NONE x")


@pytest.mark.parametrize(
    ("words", "ports"),
    [
        (["80"], ["80/tcp"]),
        (["80/tcp", "53/udp", "9/sctp"], ["80/tcp", "53/udp", "9/sctp"]),
        (["443/TCP"], ["443/tcp"]),
        (["8000-8002/udp"], ["8000/udp", "8001/udp", "8002/udp"]),
        (["80", "80/tcp"], ["80/tcp"]),
        (["80/"], ["80/tcp"]),
        (["8080:80"], ["80/tcp"]),
    ],
)
def test_parse_expose(words: list[str], ports: list[str]) -> None:
    assert parse_expose(words) == ports


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("http", "invalid containerPort: http"),
        ("70000", "invalid containerPort: 70000"),
        ("90-80", "invalid containerPort: 90-80"),
        ("80/icmp", "invalid proto: icmp"),
        ("", "no port specified: <empty>"),
    ],
)
def test_parse_expose_errors(word: str, message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument) as exc:
        parse_expose([word])
    assert str(exc.value) == message


@pytest.mark.parametrize(
    ("text", "sources", "dest"),
    [
        ("COPY a /b", ["a"], "/b"),
        ("COPY a b c /d/", ["a", "b", "c"], "/d/"),
        ('COPY ["a b", "c", "/d e/"]', ["a b", "c"], "/d e/"),
        ("ADD --chown=1 x.tgz /", ["x.tgz"], "/"),
    ],
)
def test_parse_copy_sources(text: str, sources: list[str], dest: str) -> None:
    assert parse_copy_sources(ins(text)) == (sources, dest)


@pytest.mark.parametrize(
    ("value", "mode"), [("755", 0o755), ("0644", 0o644), ("7777", 0o7777), ("0", 0)]
)
def test_parse_chmod(value: str, mode: int) -> None:
    assert parse_chmod(value) == mode


@pytest.mark.parametrize("value", ["", "8", "u+x", "0o755", "17777", "-1", " 755"])
def test_parse_chmod_refuses(value: str) -> None:
    with pytest.raises(errdefs.InvalidArgument) as exc:
        parse_chmod(value)
    assert (
        str(exc.value)
        == f"invalid chmod parameter: '{value}'. it should be octal string and between 0 and 07777"
    )


@pytest.mark.parametrize(
    ("text", "ns"),
    [("0", 0), ("1ns", 1), ("1.5s", 1_500_000_000), ("1h2m3s", 3_723_000_000_000), ("-2ms", -2_000_000),
     ("+3us", 3_000), ("3µs", 3_000), (".5m", 30_000_000_000), ("1.s", SECOND)],
)  # fmt: skip
def test_go_duration(text: str, ns: int) -> None:
    from berth.gofmt import parse_go_duration

    assert parse_go_duration(text) == ns


@pytest.mark.parametrize(
    ("text", "message"),
    [("", 'time: invalid duration ""'), ("-", 'time: invalid duration "-"'), (".s", 'time: invalid duration ".s"'),
     ("1", 'time: missing unit in duration "1"'), ("1d", 'time: unknown unit "d" in duration "1d"')],
)  # fmt: skip
def test_go_duration_errors(text: str, message: str) -> None:
    from berth.gofmt import parse_go_duration

    with pytest.raises(ValueError) as exc:
        parse_go_duration(text)
    assert str(exc.value) == message
