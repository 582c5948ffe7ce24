"""Variable substitution, checked against moby/buildkit's shell/lex_test and envVarTest."""

from __future__ import annotations

import pytest

from berth import errdefs
from berth.builder.expand import Lexer, expand_word, expand_words

ENV = {
    "PWD": "/home",
    "SHELL": "bash",
    "KOREAN": "한국어",
    "EMPTY": "",
    "PATH": "a/b/c.tar.gz",
    "SP": "a b",
}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("hello", "hello"),
        ("he'll'o", "hello"),
        ("he\\'llo", "he'llo"),
        ("abc\\tdef", "abctdef"),
        ('"abc\\tdef"', "abc\\tdef"),
        ('"abc\\\\tdef"', "abc\\tdef"),
        ("'abc\\tdef'", "abc\\tdef"),
        ("hello\\", "hello"),
        ("hello\\\\", "hello\\"),
        ('"hel\'lo"', "hel'lo"),
        ("'hello\\'", "hello\\"),
        ("'hello\\there'", "hello\\there"),
        ("'hello\\\\there'", "hello\\\\there"),
        ('"\'"', "'"),
        ('"\\""', '"'),
        ('"\\$PWD"', "$PWD"),
        ("he$PWD", "he/home"),
        ("he${PWD}", "he/home"),
        ("he\\$PWD", "he$PWD"),
        ('"he$PWD"', "he/home"),
        ("'he$PWD'", "he$PWD"),
        ("he$pwd.", "he."),
        ("he$1x", "hex"),
        ("he$.x", "he$.x"),
        ("he$", "he$"),
        ("he$ x", "he$ x"),
        ("$$", ""),
        ("${PWD:-aaa}", "/home"),
        ("${XXX:-aaa}", "aaa"),
        ("${EMPTY:-aaa}", "aaa"),
        ("${EMPTY-aaa}", ""),
        ("${XXX-aaa}", "aaa"),
        ("${PWD:+aaa}", "aaa"),
        ("${XXX:+aaa}", ""),
        ("${EMPTY:+aaa}", ""),
        ("${EMPTY+aaa}", "aaa"),
        ("${XXX:-$PWD}", "/home"),
        ("${XXX:-${PWD:-yyy}}", "/home"),
        ("${XXX:-${YYY:-yyy}}", "yyy"),
        ("${XXX:-'a b'}", "a b"),
        ("${PWD:?oops}", "/home"),
        ("${KOREAN}", "한국어"),
        ("안녕${KOREAN}", "안녕한국어"),
        ("${PATH#*/}", "b/c.tar.gz"),
        ("${PATH##*/}", "c.tar.gz"),
        ("${PATH%.*}", "a/b/c.tar"),
        ("${PATH%%.*}", "a/b/c"),
        ("${PATH#x}", "a/b/c.tar.gz"),
        ("${PATH/\\//-}", "a-b/c.tar.gz"),
        ("${PATH//\\//-}", "a-b-c.tar.gz"),
        ("${PATH/b*/X}", "a/X"),
        ("${PATH/zz/X}", "a/b/c.tar.gz"),
        ("a  b", "a  b"),
        ('x"a  b"y', "xa  by"),
    ],
)
def test_expand_word(word: str, expected: str) -> None:
    assert expand_word(word, ENV) == expected


@pytest.mark.parametrize(
    ("word", "message"),
    [
        (
            "he'llo",
            'failed to process "he\'llo": unexpected end of statement while looking for matching single-quote',
        ),
        ("he\\\\'llo", "unexpected end of statement while looking for matching single-quote"),
        ('"hello', "unexpected end of statement while looking for matching double-quote"),
        ('"hello\\"', "unexpected end of statement while looking for matching double-quote"),
        ("${", "syntax error: missing '}'"),
        ("${}", "syntax error: bad substitution"),
        ("${:}", "syntax error: bad substitution"),
        ("${{x}", "syntax error: bad substitution"),
        ("${PWD:-xx", "syntax error: missing '}'"),
        ("${PWD:=x}", "unsupported modifier (:=) in substitution"),
        ("${PWD:#x}", "unsupported modifier (:#) in substitution"),
        ("${PWD!x}", "unsupported modifier (!) in substitution"),
        ("${XXX:?}", "XXX: is not allowed to be unset"),
        ("${XXX?}", "XXX: is not allowed to be unset"),
        ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
        ("${XXX:?must be set}", "XXX: must be set"),
        ("${PATH/x", "syntax error: missing '/' in ${}"),
    ],
)
def test_expand_word_errors(word: str, message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument) as exc:
        expand_word(word, ENV)
    assert message in str(exc.value)
    assert str(exc.value).startswith("failed to process ")


def test_error_names_the_source_as_go_quotes_it() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r'^failed to process "\$\{A\\"\}\\n": '):
        expand_word('${A"}\n', {})


def test_empty_value_does_not_count_as_set_for_question_without_colon() -> None:
    assert expand_word("${EMPTY?x}", ENV) == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello world", ["hello", "world"]),
        ("  hello   world  ", ["hello", "world"]),
        ('"hello world"', ["hello world"]),
        ("'hello world'", ["hello world"]),
        ("hello\\ world", ["hello world"]),
        ("$SP", ["a", "b"]),
        ('"$SP"', ["a b"]),
        ("x$SP", ["xa", "b"]),
        ("$XXX", []),
        ('""', []),
        ("a $XXX b", ["a", "b"]),
        ("${XXX:-a b} c", ["a", "b", "c"]),
        ("80 $PWD", ["80", "/home"]),
    ],
)
def test_expand_words(text: str, expected: list[str]) -> None:
    assert expand_words(text, ENV) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("he`$PWD", "he$PWD"),
        ("c:\\windows", "c:\\windows"),
        ('"a`"b"', 'a"b'),
        ("``", "`"),
        ("$PWD", "/home"),
    ],
)
def test_backtick_escape(word: str, expected: str) -> None:
    assert expand_word(word, ENV, "`") == expected


def test_skip_unset_keeps_references_and_quotes_when_raw() -> None:
    lexer = Lexer({}, "\\", raw_quotes=True, raw_escapes=True, skip_unset=True)
    assert lexer.process("$A ${B} ${C:-d} 'q' \\x")[0] == "$A ${B} ${C:-d} 'q' \\x"
