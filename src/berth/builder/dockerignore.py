"""``.dockerignore``: which files of the build context are left out, as Docker decides
(``moby/patternmatcher`` and its ``ignorefile.ReadAll``).

**The file.** One pattern per line. A line starting with ``#`` (in the first column) is
a comment; blank lines are skipped; surrounding whitespace is trimmed. A leading ``!``
makes the pattern an *exception* (re-include). Each pattern is cleaned like Go's
``filepath.Clean`` (``./a//b/`` is ``a/b``) and a leading ``/`` dropped: patterns are
relative to the context root.

**Matching.** Paths are relative to the context root, ``/``-separated. Patterns use Go's
``filepath.Match`` syntax — ``*`` any run of characters except ``/``, ``?`` one
character except ``/``, ``[abc]`` ``[a-z]`` ``[^a-z]`` character classes, ``\\`` escapes
the next character — plus ``**``, any number of whole directories (also none):
``**/*.go`` matches ``a.go`` and ``x/y/a.go``. (``[!...]`` is not a negated class in Go:
the ``!`` is one of the class's characters.) A pattern that matches a directory also
matches everything below it (``build`` excludes ``build/out/a.o``).

**Order.** Every pattern is tried in order and the last one that matches decides:
``*.md`` then ``!README.md`` keeps README.md; the reverse order excludes it. Because of
exceptions, an excluded directory may still contain files to send:
:meth:`IgnoreMatcher.dir_may_have_exceptions` tells a tree walker whether it must
descend into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from berth import errdefs
from berth.gofmt import go_clean, go_quote

__all__ = ["IgnoreMatcher", "parse_dockerignore"]


def parse_dockerignore(text: str | bytes) -> list[str]:
    """The patterns of a ``.dockerignore`` file, cleaned, exceptions keeping their ``!``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    out: list[str] = []
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern[0] == "!"
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = go_clean(pattern)
            if len(pattern) > 1 and pattern[0] == "/":
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


def _check_syntax(pattern: str) -> bool:
    """Whether Go's ``filepath.Match`` accepts the pattern (it reports ErrBadPattern)."""
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                return False
            i += 2
            continue
        if ch != "[":
            i += 1
            continue
        i += 1
        if i < n and pattern[i] == "^":
            i += 1
        ranges = 0
        while True:
            if i < n and pattern[i] == "]" and ranges > 0:
                i += 1
                break
            for _side in ("lo", "hi"):
                if i >= n or pattern[i] in "-]":
                    return False
                if pattern[i] == "\\":
                    i += 1
                    if i >= n:
                        return False
                i += 1
                if _side == "lo":
                    if i < n and pattern[i] == "-":
                        i += 1
                        continue
                    break
            ranges += 1
    return True


@dataclass(frozen=True)
class _Pattern:
    text: str  # cleaned, without the "!"
    exclusion: bool
    kind: str  # "exact", "prefix", "suffix" or "regexp" (patternmatcher's matchType)
    regex: re.Pattern[str] | None

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            return suffix[:1] == "/" and path == suffix[1:]
        assert self.regex is not None
        return self.regex.fullmatch(path) is not None


def _compile(text: str, exclusion: bool) -> _Pattern:
    """The pattern as patternmatcher compiles it: plain strings stay string compares."""
    out: list[str] = []
    kind = "exact"
    in_class = False
    i, n = 0, len(text)
    while i < n:
        start = i
        ch = text[i]
        i += 1
        if in_class:
            # a class's members are literal; its "-" ranges and "]" keep their meaning
            if ch == "]":
                in_class = False
                out.append("]")
            elif ch == "-":
                out.append("-")
            else:
                if ch == "\\" and i < n:
                    ch = text[i]
                    i += 1
                out.append(re.escape(ch))
            continue
        if ch == "*":
            if i < n and text[i] == "*":
                i += 1
                if i < n and text[i] == "/":
                    i += 1
                if i >= n:
                    if kind == "exact":
                        kind = "prefix"
                    else:
                        out.append(".*")
                        kind = "regexp"
                else:
                    out.append("(.*/)?")
                    kind = "regexp"
                if start == 0:
                    kind = "suffix"
            else:
                out.append("[^/]*")
                kind = "regexp"
        elif ch == "?":
            out.append("[^/]")
            kind = "regexp"
        elif ch == "\\":
            if i < n:
                out.append(re.escape(text[i]))
                i += 1
                kind = "regexp"
            else:
                out.append("\\\\")
        elif ch == "[":
            in_class = True
            out.append("[")
            kind = "regexp"
            if i < n and text[i] == "^":
                out.append("^")
                i += 1
        else:
            out.append(re.escape(ch))
    regex = re.compile("".join(out)) if kind == "regexp" else None
    return _Pattern(text=text, exclusion=exclusion, kind=kind, regex=regex)


class IgnoreMatcher:
    """Decides, for paths relative to the context root, whether ``.dockerignore`` excludes them."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns: list[_Pattern] = []
        for raw in patterns:
            p = raw.strip()
            if not p:
                continue
            p = go_clean(p)
            exclusion = p[0] == "!"
            if exclusion:
                if len(p) == 1:
                    raise errdefs.InvalidArgument('illegal exclusion pattern: "!"')
                p = p[1:]
            if not _check_syntax(p):
                raise errdefs.InvalidArgument(f"syntax error in pattern {go_quote(p)}")
            self.patterns.append(_compile(p, exclusion))
        self.exclusions = any(p.exclusion for p in self.patterns)

    @classmethod
    def from_text(cls, text: str | bytes) -> IgnoreMatcher:
        """A matcher for the contents of a ``.dockerignore`` file."""
        return cls(parse_dockerignore(text))

    def excluded(self, rel_path: str, is_dir: bool = False) -> bool:
        """Whether the path is left out (MatchesOrParentMatches).

        ``is_dir`` does not change the answer — Docker's patterns have no directory-only
        form (``dir/`` is cleaned to ``dir``) — and is accepted for the walker's
        convenience.
        """
        path = go_clean(rel_path.lstrip("/"))
        if path == ".":
            return False
        parent = path.rsplit("/", 1)[0] if "/" in path else "."
        parent_dirs = parent.split("/")
        matched = False
        for pattern in self.patterns:
            # an exception can only undo a match, an exclusion only make one
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path)
            if not hit and parent != ".":
                hit = any(
                    pattern.match("/".join(parent_dirs[: i + 1])) for i in range(len(parent_dirs))
                )
            if hit:
                matched = not pattern.exclusion
        return matched

    def dir_may_have_exceptions(self, rel_dir: str) -> bool:
        """Whether an ``!`` pattern could re-include something at or below this directory.

        A walker that finds a directory excluded may skip it whole only when this is false.
        The answer errs on the side of descending.
        """
        if not self.exclusions:
            return False
        path = go_clean(rel_dir.lstrip("/"))
        dirs = [] if path == "." else path.split("/")
        return any(p.exclusion and _may_reach(p.text, dirs) for p in self.patterns)


def _component(pattern: str, name: str) -> bool:
    """Whether one path component matches one pattern component (no ``/`` inside)."""
    return _compile(pattern, False).match(name)


def _may_reach(pattern: str, dirs: list[str]) -> bool:
    """Whether the pattern could match ``dirs`` itself, an ancestor, or something below."""
    parts = pattern.split("/")
    for i, name in enumerate(dirs):
        if i >= len(parts):
            return True  # it matched an ancestor: that re-includes the whole tree
        if "**" in parts[i]:
            return True
        if not _component(parts[i], name):
            return False
    return True
