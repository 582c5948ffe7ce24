""".dockerignore parsing and matching, as moby/patternmatcher and the Docker docs describe."""

from __future__ import annotations

import pytest

from berth import errdefs
from berth.builder.dockerignore import IgnoreMatcher, parse_dockerignore


def test_parse_dockerignore_like_moby_readall() -> None:
    text = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! \n"
    assert parse_dockerignore(text) == [
        "test1",
        "test2",
        "a/file/here",
        "lastfile",
        "!inverted/abs/path",
        "!",
        "!",
    ]


@pytest.mark.parametrize(
    ("text", "patterns"),
    [
        ("\ufeff*.md\r\n", ["*.md"]),
        (b"\xef\xbb\xbfa\nb", ["a", "b"]),
        ("  spaced  \n\t\n", ["spaced"]),
        ("  # not a comment", ["# not a comment"]),
        ("./a//b/\n", ["a/b"]),
        ("a/../b\n!./c/\n", ["b", "!c"]),
        ("../x\n", ["../x"]),
        ("/\n", ["/"]),
        ("!  keep", ["!keep"]),
    ],
)
def test_parse_dockerignore_cleans(text: str | bytes, patterns: list[str]) -> None:
    assert parse_dockerignore(text) == patterns


@pytest.mark.parametrize(
    ("pattern", "path", "excluded"),
    [
        # moby/patternmatcher TestMatches
        ("**", "file", True),
        ("**", "file/", True),
        ("**/", "file", True),
        ("**", "dir/file", True),
        ("**/**", "dir/file", True),
        ("dir/**", "dir/file", True),
        ("dir/**", "dir/dir2/file", True),
        ("**/dir", "dir", True),
        ("**/dir", "dir/file", True),
        ("**/dir2/*", "dir/dir2/file", True),
        ("**/dir2/**", "dir/dir2/dir3/file", True),
        ("**file", "file", True),
        ("**file", "dir/file", True),
        ("**/file", "dir/file", True),
        ("**file", "dir/dir/file", True),
        ("**/file*", "dir/dir/file.txt", True),
        ("**/file*txt", "dir/dir/file.txt", True),
        ("**/file*.txt*", "dir/dir/file.txt", True),
        ("**/**/*.txt", "dir/dir/file.txt", True),
        ("**/**/*.txt2", "dir/dir/file.txt", False),
        ("**/*.txt", "file.txt", True),
        ("**/**/*.txt", "file.txt", True),
        ("a**/*.txt", "a/file.txt", True),
        ("a**/*.txt", "a/dir/file.txt", True),
        ("a**/*.txt", "a/dir/dir/file.txt", True),
        ("a/*.txt", "a/dir/file.txt", False),
        ("a/*.txt", "a/file.txt", True),
        ("a/*.txt**", "a/file.txt", True),
        ("a[b-d]e", "ae", False),
        ("a[b-d]e", "ace", True),
        ("a[b-d]e", "aae", False),
        ("a[^b-d]e", "aze", True),
        ("a[^b-d]e", "ace", False),
        (".*", ".foo", True),
        (".*", "foo", False),
        ("abc.def", "abcdef", False),
        ("abc.def", "abc.def", True),
        ("abc.def", "abcZdef", False),
        ("abc?def", "abcZdef", True),
        ("abc?def", "abcdef", False),
        ("a\\\\", "a\\", True),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
        ("**/foo/bar", "foo/bar", True),
        ("**/foo/bar", "dir/foo/bar", True),
        ("**/foo/bar", "dir/dir2/foo/bar", True),
        ("abc/**", "abc", False),
        ("abc/**", "abc/def", True),
        ("abc/**", "abc/def/ghi", True),
        ("**/.foo", ".foo", True),
        ("**/.foo", "bar.foo", False),
        ("a(b)c/def", "a(b)c/def", True),
        ("a(b)c/def", "a(b)c/xyz", False),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
        ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
        # the Docker docs' examples
        ("*/temp*", "somedir/temporary.txt", True),
        ("*/temp*", "somedir/temp", True),
        ("*/temp*", "temp", False),
        ("*/temp*", "a/b/temp", False),
        ("*/*/temp*", "somedir/subdir/temporary.txt", True),
        ("temp?", "tempa", True),
        ("temp?", "temp", False),
        ("temp?", "tempab", False),
        ("*", "a/b", True),
        # a directory's match covers what is below it
        ("build", "build/out/a.o", True),
        ("build", "x/build", False),
        ("/abs/path/", "abs/path/file", True),
        # Go's [!...] is a class containing "!", not a negation
        ("a[!b]c", "a!c", True),
        ("a[!b]c", "axc", False),
    ],
)
def test_single_pattern(pattern: str, path: str, excluded: bool) -> None:
    matcher = IgnoreMatcher(parse_dockerignore(pattern))
    assert matcher.excluded(path) is excluded


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.md", "!README.md"], "README.md", False),
        (["*.md", "!README.md"], "CHANGES.md", True),
        (["!README.md", "*.md"], "README.md", True),
        (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True),
        (["*.md", "!README*.md", "README-secret.md"], "README.md", False),
        (["*.md", "README-secret.md", "!README*.md"], "README-secret.md", False),
        (["docs", "!docs/README.md"], "docs/README.md", False),
        (["docs", "!docs/README.md"], "docs/other.md", True),
        (["docs", "!docs/README.md"], "docs", True),
        (["docs/*", "!docs/keep"], "docs/keep/deep/file", False),
        (["**", "!src"], "src/main.go", False),
        (["**", "!src"], "README", True),
        (["**/*.o", "!keep/**"], "keep/a.o", False),
        (["**/*.o", "!keep/**"], "lib/a.o", True),
        (["*", "!a", "a/b"], "a/b/c", True),
        (["*", "!a", "a/b"], "a/c", False),
        ([], "anything", False),
    ],
)
def test_last_matching_pattern_wins(patterns: list[str], path: str, excluded: bool) -> None:
    assert IgnoreMatcher(patterns).excluded(path) is excluded


def test_paths_are_cleaned_and_root_is_never_excluded() -> None:
    m = IgnoreMatcher(["a/b", "**"])
    assert m.excluded("./a//b/") is True
    assert m.excluded("/a/b") is True
    assert m.excluded(".") is False
    assert m.excluded("", is_dir=True) is False


@pytest.mark.parametrize(
    ("patterns", "directory", "may"),
    [
        (["build"], "build", False),
        (["build", "!other"], "build", False),
        (["build", "!build/keep"], "build", True),
        (["build", "!build/*/keep"], "build", True),
        (["build", "!build/*/keep"], "build/x", True),
        (["build", "!build/x/keep"], "build/y", False),
        (["build", "!**/keep"], "build", True),
        (["build", "!*/keep"], "build", True),
        (["a/b", "!a"], "a/b", True),
        (["a", "!b*"], "a", False),
        (["a", "!a*/k"], "a", True),
        (["a", "!b/**"], "a", False),
    ],
)
def test_dir_may_have_exceptions(patterns: list[str], directory: str, may: bool) -> None:
    assert IgnoreMatcher(patterns).dir_may_have_exceptions(directory) is may


def test_skipping_when_no_exception_is_sound() -> None:
    # whenever the walker would skip, nothing below may be re-included
    patterns = ["build", "!build/x/keep", "logs/**", "!logs/a*/k"]
    m = IgnoreMatcher(patterns)
    for directory, inside in [
        ("build/y", "build/y/keep"),
        ("logs/b", "logs/b/k"),
        ("build/x", "build/x/keep"),
    ]:
        assert m.excluded(directory) is True
        if not m.dir_may_have_exceptions(directory):
            assert m.excluded(inside) is True
        else:
            assert m.excluded(inside) is False


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("[", 'syntax error in pattern "["'),
        ("a[b", 'syntax error in pattern "a[b"'),
        ("[]a]", 'syntax error in pattern "[]a]"'),
        ("[a-]", 'syntax error in pattern "[a-]"'),
        ("[-a]", 'syntax error in pattern "[-a]"'),
        ("a\\", 'syntax error in pattern "a\\\\"'),
        ("!", 'illegal exclusion pattern: "!"'),
        ("![", 'syntax error in pattern "["'),
    ],
)
def test_malformed_patterns(pattern: str, message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument) as exc:
        IgnoreMatcher([pattern])
    assert str(exc.value) == message


@pytest.mark.parametrize("pattern", ["[a-z]", "[^a]", "[\\]]", "[a-cx-z]", "a\\[b", "[*]"])
def test_well_formed_classes(pattern: str) -> None:
    IgnoreMatcher([pattern])


def test_from_text() -> None:
    m = IgnoreMatcher.from_text("# c\n*.log\n!important.log\n")
    assert (m.excluded("x.log"), m.excluded("important.log")) == (True, False)
