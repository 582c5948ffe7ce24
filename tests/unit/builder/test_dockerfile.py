"""The Dockerfile parser, against moby/buildkit's parser and instructions behaviour."""

from __future__ import annotations

import pytest

from berth import errdefs
from berth.builder.dockerfile import (
    DockerfileParseError,
    Heredoc,
    Instruction,
    parse,
    parse_onbuild,
)


def only(text: str | bytes) -> Instruction:
    instructions = parse(text).instructions
    assert len(instructions) == 1, instructions
    return instructions[0]


@pytest.mark.parametrize(
    ("text", "cmd", "args", "is_json"),
    [
        ("FROM busybox", "FROM", ("busybox",), False),
        ("from busybox AS base", "FROM", ("busybox", "AS", "base"), False),
        ("FROM\tbusybox   as\tb", "FROM", ("busybox", "as", "b"), False),
        ("RUN echo hi  there", "RUN", ("echo hi  there",), False),
        ('RUN ["echo", "hi"]', "RUN", ("echo", "hi"), True),
        ('RUN   [ "echo" ,"a b" ]  ', "RUN", ("echo", "a b"), True),
        ("RUN [echo, hi]", "RUN", ("[echo, hi]",), False),
        ('RUN ["echo", "hi"', "RUN", ('["echo", "hi"',), False),
        ("CMD []", "CMD", (), True),
        ("CMD", "CMD", (), False),
        ('ENTRYPOINT ["/bin/sh", "-c"]', "ENTRYPOINT", ("/bin/sh", "-c"), True),
        ('SHELL ["powershell", "-command"]', "SHELL", ("powershell", "-command"), True),
        ("COPY a b  /dst/", "COPY", ("a", "b", "/dst/"), False),
        ('COPY ["a b", "/dst/"]', "COPY", ("a b", "/dst/"), True),
        ("ADD http://x/y.tgz /tmp/", "ADD", ("http://x/y.tgz", "/tmp/"), False),
        ("VOLUME /a /b", "VOLUME", ("/a", "/b"), False),
        ('VOLUME ["/data"]', "VOLUME", ("/data",), True),
        ("EXPOSE 80 443/tcp", "EXPOSE", ("80", "443/tcp"), False),
        ("ENV A=1 B='two words'", "ENV", ("A=1 B='two words'",), False),
        ("ENV myName John  Doe", "ENV", ("myName John  Doe",), False),
        (
            'LABEL "com.example.vendor"="ACME Incorporated"',
            "LABEL",
            ('"com.example.vendor"="ACME Incorporated"',),
            False,
        ),
        ('ARG a b="c d" e=', "ARG", ("a", 'b="c d"', "e="), False),
        ("WORKDIR /a  b", "WORKDIR", ("/a  b",), False),
        ("USER app:app", "USER", ("app:app",), False),
        ("STOPSIGNAL SIGKILL", "STOPSIGNAL", ("SIGKILL",), False),
        ("MAINTAINER Jane <j@x>", "MAINTAINER", ("Jane <j@x>",), False),
        ("ONBUILD RUN echo hi", "ONBUILD", ("RUN echo hi",), False),
        ("HEALTHCHECK NONE", "HEALTHCHECK", ("NONE",), False),
        (
            "HEALTHCHECK CMD curl -f http://x/ || exit 1",
            "HEALTHCHECK",
            ("CMD", "curl -f http://x/ || exit 1"),
            False,
        ),
        ('HEALTHCHECK CMD ["curl", "-f", "x"]', "HEALTHCHECK", ("CMD", "curl", "-f", "x"), True),
    ],
)
def test_arguments_per_instruction(
    text: str, cmd: str, args: tuple[str, ...], is_json: bool
) -> None:
    ins = only(text)
    assert (ins.cmd, ins.args, ins.json) == (cmd, args, is_json)


def test_lines_and_original_of_a_small_file() -> None:
    df = parse('# comment\n\nFROM busybox\n  RUN  echo a  \nCMD ["sh"]\n')
    assert [(i.cmd, i.line, i.end_line, i.original) for i in df.instructions] == [
        ("FROM", 3, 3, "FROM busybox"),
        ("RUN", 4, 4, "RUN  echo a"),
        ("CMD", 5, 5, 'CMD ["sh"]'),
    ]
    assert df.escape == "\\"
    assert df.directives == {}


@pytest.mark.parametrize(
    ("text", "original", "end_line"),
    [
        # the continuation character goes, the next line is appended as is
        ("RUN echo hello \\\n  world", "RUN echo hello   world", 2),
        ("RUN echo hello\\\nworld", "RUN echo helloworld", 2),
        # blanks after the continuation character are allowed
        ("RUN a \\  \t\n b", "RUN a  b", 2),
        # comment lines inside a continuation are dropped
        ("RUN a \\\n# one\n   # two\n b", "RUN a  b", 4),
        # an escaped escape character is not a continuation
        ("RUN echo a\\\\\nRUN b", "RUN echo a\\\\", 1),
        # the continuation at the end of the file ends the instruction
        ("RUN a \\", "RUN a", 1),
        ("RUN a \\\n\\\n b", "RUN a  b", 3),
    ],
)
def test_continuations(text: str, original: str, end_line: int) -> None:
    ins = parse(text).instructions[0]
    assert (ins.original, ins.line, ins.end_line) == (original, 1, end_line)


def test_empty_continuation_lines_warn_as_docker_does() -> None:
    df = parse("FROM x\nRUN a \\\n\n  b\n")
    assert df.instructions[1].original == "RUN a   b"
    assert df.warnings == (
        "[WARNING]: Empty continuation line found in:\n    RUN a   b",
        "[WARNING]: Empty continuation lines will become errors in a future release.",
    )
    assert parse("FROM x\nRUN a \\\n b\n").warnings == ()


def test_crlf_and_bom() -> None:
    df = parse(b"\xef\xbb\xbf# escape=`\r\nFROM x\r\nRUN a `\r\n b\r\n")
    assert df.escape == "`"
    assert [i.original for i in df.instructions] == ["FROM x", "RUN a  b"]


@pytest.mark.parametrize(
    ("text", "directives", "escape"),
    [
        ("# escape=`\nFROM x", {"escape": "`"}, "`"),
        ("#ESCAPE = `\nFROM x", {"escape": "`"}, "`"),
        ("  # escape=`\nFROM x", {"escape": "`"}, "`"),
        (
            "# syntax=docker/dockerfile:1\n# escape=`\nFROM x",
            {"syntax": "docker/dockerfile:1", "escape": "`"},
            "`",
        ),
        # after a blank line, a comment, an unknown directive or an instruction: a comment
        ("\n# escape=`\nFROM x", {}, "\\"),
        ("# hello\n# escape=`\nFROM x", {}, "\\"),
        ("# foo=bar\n# escape=`\nFROM x", {}, "\\"),
        ("FROM x\n# escape=`", {}, "\\"),
        ("# escape=\\\nFROM x", {"escape": "\\"}, "\\"),
    ],
)
def test_parser_directives(text: str, directives: dict[str, str], escape: str) -> None:
    df = parse(text)
    assert (df.directives, df.escape) == (directives, escape)


def test_backtick_escape_continues_lines_and_leaves_backslash_alone() -> None:
    df = parse("# escape=`\nFROM x\nCOPY testfile.txt c:\\\nRUN dir `\n  c:\\\n")
    assert [i.original for i in df.instructions] == [
        "FROM x",
        "COPY testfile.txt c:\\",
        "RUN dir   c:\\",
    ]
    assert df.instructions[1].escape == "`"


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("# escape=`\n# escape=\\\nFROM x", "only one escape parser directive can be used", 2),
        ("# escape=x\nFROM x", "invalid escape token 'x' does not match ` or \\", 1),
        ("", "file with no instructions", 0),
        ("# just a comment\n\n", "file with no instructions", 2),
        ("FROM x\nRUN <<EOF\nhello\n", "unterminated heredoc", 2),
        (
            'RUN ["a", 1]',
            "when using JSON array syntax, arrays must be comprised of strings only",
            1,
        ),
        ("FROM x\nENV A", "ENV must have two arguments", 2),
        (
            "FROM x\nLABEL a=b c",
            'Syntax error - can\'t find = in "c". Must be of the form: name=value',
            2,
        ),
    ],
)
def test_parser_errors_are_bare_messages(text: str, message: str, line: int) -> None:
    with pytest.raises(DockerfileParseError) as exc:
        parse(text)
    assert str(exc.value) == message
    assert exc.value.line == line
    assert isinstance(exc.value, errdefs.InvalidArgument)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM x\n\nFOOBAR baz", "dockerfile parse error line 3: unknown instruction: FOOBAR"),
        ("FROM x\nfoobar baz", "dockerfile parse error line 2: unknown instruction: FOOBAR"),
        ("FROM", "dockerfile parse error line 1: FROM requires either one or three arguments"),
        ("FROM a b", "dockerfile parse error line 1: FROM requires either one or three arguments"),
        (
            "FROM a AS b c",
            "dockerfile parse error line 1: FROM requires either one or three arguments",
        ),
        (
            "FROM a AS 1st",
            'dockerfile parse error line 1: invalid name for build stage: "1st", name can\'t start with a number or contain symbols',
        ),
        ("FROM x\nENV", "dockerfile parse error line 2: ENV requires at least one argument"),
        ("FROM x\nENV =x", "dockerfile parse error line 2: ENV names can not be blank"),
        ("FROM x\nLABEL", "dockerfile parse error line 2: LABEL requires at least one argument"),
        ("FROM x\nARG", "dockerfile parse error line 2: ARG requires at least one argument"),
        ("FROM x\nARG =v", "dockerfile parse error line 2: ARG names can not be blank"),
        (
            "FROM x\nCOPY a",
            "dockerfile parse error line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined.",
        ),
        (
            "FROM x\nADD",
            "dockerfile parse error line 2: ADD requires at least two arguments, but only one was provided. Destination could not be determined.",
        ),
        ("FROM x\nWORKDIR", "dockerfile parse error line 2: WORKDIR requires exactly one argument"),
        ("FROM x\nUSER", "dockerfile parse error line 2: USER requires exactly one argument"),
        (
            "FROM x\nSTOPSIGNAL",
            "dockerfile parse error line 2: STOPSIGNAL requires exactly one argument",
        ),
        ("FROM x\nEXPOSE", "dockerfile parse error line 2: EXPOSE requires at least one argument"),
        ("FROM x\nVOLUME", "dockerfile parse error line 2: VOLUME requires at least one argument"),
        (
            'FROM x\nVOLUME ["/a", " "]',
            "dockerfile parse error line 2: VOLUME specified can not be an empty string",
        ),
        ("FROM x\nSHELL", "dockerfile parse error line 2: SHELL requires at least one argument"),
        ("FROM x\nSHELL []", "dockerfile parse error line 2: SHELL requires at least one argument"),
        (
            "FROM x\nSHELL bash -c",
            "dockerfile parse error line 2: SHELL requires the arguments to be in JSON form",
        ),
        (
            "FROM x\nONBUILD",
            "dockerfile parse error line 2: ONBUILD requires at least one argument",
        ),
        (
            "FROM x\nONBUILD ONBUILD RUN x",
            "dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        ),
        (
            "FROM x\nONBUILD from y",
            "dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger",
        ),
        (
            "FROM x\nONBUILD MAINTAINER me",
            "dockerfile parse error line 2: MAINTAINER isn't allowed as an ONBUILD trigger",
        ),
        (
            "FROM x\nHEALTHCHECK",
            "dockerfile parse error line 2: HEALTHCHECK requires at least one argument",
        ),
        (
            "FROM x\nHEALTHCHECK CMD",
            "dockerfile parse error line 2: Missing command after HEALTHCHECK CMD",
        ),
        (
            "FROM x\nHEALTHCHECK RUN x",
            'dockerfile parse error line 2: Unknown type "RUN" in HEALTHCHECK (try CMD)',
        ),
        ("FROM x\nRUN --foo=bar x", "dockerfile parse error line 2: Unknown flag: foo"),
        ("FROM x\nENV --a=b c=d", "dockerfile parse error line 2: Unknown flag: a"),
        ("FROM x\nCOPY --from a b", "dockerfile parse error line 2: Missing a value on flag: from"),
        (
            "FROM x\nCOPY --from=a --from=b c d",
            "dockerfile parse error line 2: Duplicate flag specified: from",
        ),
        (
            "FROM x\nCOPY --link=maybe a b",
            "dockerfile parse error line 2: Expecting boolean value for flag link, not: maybe",
        ),
        (
            "FROM x\nCOPY --link= a b",
            "dockerfile parse error line 2: Missing a value on flag: link",
        ),
        ("FROM --plat=x y", "dockerfile parse error line 1: Unknown flag: plat"),
        (
            "FROM x\nRUN echo\nCOPY a\nFOO",
            "dockerfile parse error line 3: COPY requires at least two arguments, but only one was provided. Destination could not be determined.",
        ),
    ],
)
def test_instruction_errors_carry_the_line(text: str, message: str) -> None:
    with pytest.raises(DockerfileParseError) as exc:
        parse(text)
    assert str(exc.value) == message


def test_parser_errors_come_before_instruction_errors() -> None:
    with pytest.raises(DockerfileParseError, match=r"^unterminated heredoc$"):
        parse("FOOBAR\nRUN <<EOF\n")


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        ("COPY --from=build --chown=1:1 a b", (("from", "build"), ("chown", "1:1"))),
        ('COPY --chown="app user" a b', (("chown", "app user"),)),
        ("COPY --chown='a b' a b", (("chown", "a b"),)),
        ("COPY --link a b", (("link", ""),)),
        ("COPY --link=true --chmod=0644 a b", (("link", "true"), ("chmod", "0644"))),
        (
            "RUN --mount=type=cache,target=/c --mount=type=tmpfs,target=/t make",
            (("mount", "type=cache,target=/c"), ("mount", "type=tmpfs,target=/t")),
        ),
        ("RUN --network=none echo --flag=x", (("network", "none"),)),
        ("FROM --platform=$BUILDPLATFORM x", (("platform", "$BUILDPLATFORM"),)),
        ("RUN echo --not-a-flag", ()),
    ],
)
def test_flags(text: str, flags: tuple[tuple[str, str], ...]) -> None:
    assert parse(text).instructions[0].flags == flags


def test_flag_accessors() -> None:
    ins = only("RUN --mount=a --network=host --mount=b x")
    assert ins.flag("network") == "host"
    assert ins.flag("security") is None
    assert ins.flag("security", "sandbox") == "sandbox"
    assert ins.flag_values("mount") == ["a", "b"]
    assert ins.args == ("x",)
    assert ins.original == "RUN --mount=a --network=host --mount=b x"


def test_heredoc_run() -> None:
    df = parse("FROM x\nRUN <<EOF\necho $HOME\n  indented\nEOF\nRUN done\n")
    run = df.instructions[1]
    assert (run.args, run.original, run.line, run.end_line) == (("<<EOF",), "RUN <<EOF", 2, 5)
    assert run.heredocs == (
        Heredoc(name="EOF", content="echo $HOME\n  indented\n", expand=True, chomp=False),
    )
    assert df.instructions[2].line == 6


@pytest.mark.parametrize(
    ("text", "heredocs"),
    [
        ("RUN <<'EOF'\n$A\nEOF", (Heredoc("EOF", "$A\n", False, False),)),
        ('RUN <<"EOF"\n$A\nEOF', (Heredoc("EOF", "$A\n", False, False),)),
        ("RUN <<E'O'F\nx\nEOF", (Heredoc("EOF", "x\n", False, False),)),
        ("RUN <<-EOF\n\t\tone\n\ttwo\n\tEOF", (Heredoc("EOF", "one\ntwo\n", True, True),)),
        ("RUN <<EOF\n\tEOF\nEOF", (Heredoc("EOF", "\tEOF\n", True, False),)),
        (
            "RUN <<A <<B cat /dev/fd/3\na\nA\nb\nB",
            (Heredoc("A", "a\n", True, False), Heredoc("B", "b\n", True, False)),
        ),
        ("RUN 3<<EOF cat\nx\nEOF", (Heredoc("EOF", "x\n", True, False),)),
        ("RUN python3 <<EOF\nEOF", (Heredoc("EOF", "", True, False),)),
        ("COPY <<EOF /dest\nhello\nEOF", (Heredoc("EOF", "hello\n", True, False),)),
        (
            "ADD <<a.txt <<b.txt /d/\nA\na.txt\nB\nb.txt",
            (Heredoc("a.txt", "A\n", True, False), Heredoc("b.txt", "B\n", True, False)),
        ),
        ("RUN <<EOF\r\nwin\r\nEOF\r\n", (Heredoc("EOF", "win\r\n", True, False),)),
    ],
)
def test_heredocs(text: str, heredocs: tuple[Heredoc, ...]) -> None:
    assert parse(text).instructions[0].heredocs == heredocs


@pytest.mark.parametrize(
    "text",
    [
        'RUN ["cat", "<<EOF"]\nRUN x',  # exec form has no heredocs
        "CMD cat <<EOF\nRUN x",  # CMD cannot have them
        "RUN echo a<<b\nRUN x",  # not a word of its own
        "RUN echo '<<EOF'\nRUN x",
    ],
)
def test_no_heredoc(text: str) -> None:
    df = parse(text)
    assert len(df.instructions) == 2
    assert df.instructions[0].heredocs == ()


def test_onbuild_with_heredoc_and_parse_onbuild() -> None:
    df = parse("FROM x\nONBUILD RUN --network=none <<EOF\necho hi\nEOF\n")
    outer = df.instructions[1]
    assert outer.args == ("RUN --network=none <<EOF",)
    inner = parse_onbuild(outer)
    assert (inner.cmd, inner.args, inner.flags) == ("RUN", ("<<EOF",), (("network", "none"),))
    assert inner.original == "RUN --network=none <<EOF"
    assert inner.heredocs == (Heredoc("EOF", "echo hi\n", True, False),)
    assert (inner.line, inner.end_line) == (2, 4)


@pytest.mark.parametrize(
    ("text", "cmd", "args", "original"),
    [
        ("ONBUILD ADD . /app/src", "ADD", (".", "/app/src"), "ADD . /app/src"),
        ("onbuild   run   echo  hi", "RUN", ("echo  hi",), "run   echo  hi"),
        ('ONBUILD CMD ["a"]', "CMD", ("a",), 'CMD ["a"]'),
    ],
)
def test_parse_onbuild(text: str, cmd: str, args: tuple[str, ...], original: str) -> None:
    inner = parse_onbuild(only(text))
    assert (inner.cmd, inner.args, inner.original) == (cmd, args, original)


def test_parse_onbuild_checks_the_trigger() -> None:
    with pytest.raises(
        DockerfileParseError, match=r"^dockerfile parse error line 1: unknown instruction: NOPE$"
    ):
        parse_onbuild(only("ONBUILD NOPE x"))
    with pytest.raises(errdefs.InvalidArgument):
        parse_onbuild(only("RUN x"))


def test_reference_example_with_everything() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=alpine:3.20\n"
        "FROM --platform=$BUILDPLATFORM ${BASE} AS base\n"
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
        "RUN set -e \\\n"
        "    # inline comment inside a continuation\n"
        "    && echo 'quoted  spaces' \\\n"
        '    && echo "$HOME"\n'
        "COPY --chown=1000:1000 --chmod=755 --link ./a ./b /dst/\n"
        "ADD --checksum=sha256:deadbeef https://example.com/x.tgz /tmp/\n"
        "ONBUILD RUN echo triggered\n"
        "HEALTHCHECK --interval=30s --timeout=3s CMD curl -f http://localhost/ || exit 1\n"
        "EXPOSE 80/tcp 53/udp\n"
        'ENTRYPOINT ["/entry"]\n'
    )
    df = parse(text)
    assert [i.cmd for i in df.instructions] == [
        "ARG", "FROM", "SHELL", "RUN", "COPY", "ADD", "ONBUILD", "HEALTHCHECK", "EXPOSE", "ENTRYPOINT",
    ]  # fmt: skip
    run = df.instructions[3]
    assert run.original == "RUN set -e     && echo 'quoted  spaces'     && echo \"$HOME\""
    assert (run.line, run.end_line) == (5, 8)
    assert df.directives == {"syntax": "docker/dockerfile:1"}
    assert df.instructions[4].flags == (("chown", "1000:1000"), ("chmod", "755"), ("link", ""))


@pytest.mark.parametrize("module", ["dockerfile", "expand", "args", "dockerignore"])
def test_public_names_exist(module: str) -> None:
    import importlib

    mod = importlib.import_module(f"berth.builder.{module}")
    assert mod.__all__
    assert [name for name in mod.__all__ if not hasattr(mod, name)] == []
