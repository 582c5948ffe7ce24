"""Dockerfile variable substitution, as Docker's ``shell/lex.go`` (ProcessWord/ProcessWords).

Which instructions substitute is the executor's business; Docker's list (the Dockerfile
reference, "Environment replacement") is ADD, COPY, ENV, EXPOSE, FROM, LABEL,
STOPSIGNAL, USER, VOLUME, WORKDIR, ONBUILD (when the trigger runs) and ARG — and not
RUN, CMD or ENTRYPOINT, whose shell form is handed to the shell as written.

The rules, in the order the lexer meets them:

* ``'...'`` — taken literally, quotes removed; nothing can be escaped inside.
* ``"..."`` — quotes removed, ``$`` substitutions done; the escape character escapes only
  ``"``, ``$`` and itself (``"a\\b"`` keeps its backslash).
* the escape character (``\\`` or, after ``# escape=```, the backtick) outside quotes
  makes the next character literal (``\\$HOME`` is ``$HOME``); at the very end it is
  dropped.
* ``$NAME`` and ``${NAME}`` — the variable's value, empty when unset. A name is letters,
  digits and ``_``; a leading run of digits or one special character (``@*#?-$!0``) is a
  name by itself. A ``$`` not followed by a name is kept.
* ``${NAME:-word}`` / ``${NAME-word}`` — word if NAME is unset-or-empty / unset;
  ``${NAME:+word}`` / ``${NAME+word}`` — word if NAME is set-and-not-empty / set, else
  empty; ``${NAME:?msg}`` / ``${NAME?msg}`` — an error (``NAME: msg``, or ``is not allowed
  to be unset``/``empty``); ``${NAME#pat}`` ``${NAME##pat}`` ``${NAME%pat}``
  ``${NAME%%pat}`` — remove the shortest/longest matching prefix/suffix (``*`` and ``?``
  wildcards); ``${NAME/pat/repl}`` and ``${NAME//pat/repl}`` — replace the first/every
  match. The word is itself expanded. Any other modifier is ``unsupported modifier (X) in
  substitution``; ``${}`` ``${:x}`` are ``bad substitution``.

Word splitting (:func:`expand_words`) happens after substitution, on unquoted
whitespace; whitespace that came out of a variable also splits, quoted text does not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from berth import errdefs
from berth.gofmt import go_quote

__all__ = ["Lexer", "expand_word", "expand_words"]

_SPECIAL = frozenset("@*#?-$!0")
_REPLACEMENT = "\ufffd"  # what Go's string(rune(-1)) prints when the text ends early


class _Fail(Exception):
    """A lexing error; :meth:`Lexer.process` wraps it with the source text."""


class _Words:
    """Accumulates the split words (wordsStruct in lex.go)."""

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.buf:
                self.words.append("".join(self.buf))
                self.buf = []
                self.in_word = False
        else:
            self.add_raw(ch)

    def add_raw(self, text: str) -> None:
        self.buf.append(text)
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def result(self) -> list[str]:
        if self.buf and "".join(self.buf):
            self.words.append("".join(self.buf))
            self.buf = []
            self.in_word = False
        return self.words


class Lexer:
    """One pass of Docker's shell-word lexer over a text.

    ``raw_quotes`` keeps the quote characters in the result, ``raw_escapes`` keeps the
    escape characters, ``skip_unset`` leaves references to unset variables as written
    (``$X``, ``${X:-y}``): the parser uses these to find heredoc words without expanding.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        escape: str = "\\",
        *,
        raw_quotes: bool = False,
        raw_escapes: bool = False,
        skip_unset: bool = False,
    ) -> None:
        self.env = env
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset = skip_unset
        self._s = ""
        self._pos = 0

    def process(self, text: str) -> tuple[str, list[str]]:
        """(the text substituted as one word, the words after splitting)."""
        self._s, self._pos = text, 0
        try:
            return self._stop_on(None, self.raw_escapes)
        except _Fail as exc:
            raise errdefs.InvalidArgument(f"failed to process {go_quote(text)}: {exc}") from None

    def _peek(self) -> str | None:
        return self._s[self._pos] if self._pos < len(self._s) else None

    def _next(self) -> str | None:
        ch = self._peek()
        if ch is not None:
            self._pos += 1
        return ch

    def _stop_on(self, stop: str | None, raw_escapes: bool) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            while (ch := self._peek()) is not None:
                if stop is not None and ch == stop:
                    self._next()
                    return "".join(result), words.result()
                if ch in ("'", '"', "$"):
                    if ch == "'":
                        tmp = self._single_quote()
                    elif ch == '"':
                        tmp = self._double_quote()
                    else:
                        tmp = self._dollar()
                    result.append(tmp)
                    if ch == "$":
                        words.add_string(tmp)
                    else:
                        words.add_raw(tmp)
                    continue
                self._next()
                if ch == self.escape:
                    if self.raw_escapes:
                        words.add_raw(ch)
                        result.append(ch)
                    nxt = self._next()
                    if nxt is None:
                        break
                    words.add_raw(nxt)
                    result.append(nxt)
                else:
                    words.add_char(ch)
                    result.append(ch)
            if stop is not None:
                raise _Fail(f"unexpected end of statement while looking for matching {stop}")
            return "".join(result), words.result()
        finally:
            self.raw_escapes = saved

    def _single_quote(self) -> str:
        out: list[str] = []
        q = self._next()
        if self.raw_quotes and q:
            out.append(q)
        while True:
            ch = self._next()
            if ch is None:
                raise _Fail("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def _double_quote(self) -> str:
        out: list[str] = []
        q = self._next()
        if self.raw_quotes and q:
            out.append(q)
        while True:
            ch = self._peek()
            if ch is None:
                raise _Fail("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self._next()
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if ch == "$":
                out.append(self._dollar())
                continue
            self._next()
            if ch == self.escape:
                if self.raw_escapes:
                    out.append(ch)
                nxt = self._peek()
                if nxt is None:
                    continue
                if nxt in ('"', "$", self.escape):
                    ch = self._next() or ""
            out.append(ch)

    def _get(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            return self.env[name], True
        return "", False

    def _name(self) -> str:
        out: list[str] = []
        while (ch := self._peek()) is not None:
            if not out and ch.isdecimal():
                while (d := self._peek()) is not None and d.isdecimal():
                    out.append(d)
                    self._next()
                return "".join(out)
            if not out and ch in _SPECIAL:
                self._next()
                return ch
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            out.append(ch)
            self._next()
        return "".join(out)

    def _word_until(self, stop: str, raw_escapes: bool, missing: str) -> str:
        try:
            return self._stop_on(stop, raw_escapes)[0]
        except _Fail:
            if self._peek() is None:
                raise _Fail(missing) from None
            raise

    def _dollar(self) -> str:
        self._next()
        if self._peek() != "{":
            name = self._name()
            if not name:
                return "$"
            value, found = self._get(name)
            if not found and self.skip_unset:
                return "$" + name
            return value
        self._next()
        first = self._peek()
        if first is None:
            raise _Fail("syntax error: missing '}'")
        if first in "{}:":
            raise _Fail("syntax error: bad substitution")
        name = self._name()
        ch = self._next() or _REPLACEMENT
        chs = ch
        if ch == "}":
            value, found = self._get(name)
            if not found and self.skip_unset:
                return "${" + name + "}"
            return value
        if ch == "/":
            return self._replace(name)
        null_is_unset = False
        if ch == ":":
            null_is_unset = True
            ch = self._next() or _REPLACEMENT
            chs += ch
        elif ch not in "+-?#%":
            raise _Fail(f"unsupported modifier ({chs}) in substitution")
        raw = ch in "#%"
        if null_is_unset and raw:
            raise _Fail(f"unsupported modifier ({chs}) in substitution")
        word = self._word_until("}", raw, "syntax error: missing '}'")
        value, found = self._get(name)
        if self.skip_unset and not found:
            return "${" + name + chs + word + "}"
        unset = not found or (null_is_unset and value == "")
        if ch == "-":
            return word if unset else value
        if ch == "+":
            return "" if unset else word
        if ch == "?":
            if not found:
                raise _Fail(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise _Fail(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        if ch in "#%":
            greedy = word[:1] == ch
            if greedy:
                word = word[1:]
            if ch == "%":
                return _trim_suffix(word, value, greedy)
            return _trim_prefix(word, value, greedy)
        raise _Fail(f"unsupported modifier ({chs}) in substitution")

    def _replace(self, name: str) -> str:
        replace_all = self._peek() == "/"
        if replace_all:
            self._next()
        pattern = self._word_until("/", True, "syntax error: missing '/' in ${}")
        replacement = self._word_until("}", True, "syntax error: missing '}'")
        value, found = self._get(name)
        if self.skip_unset and not found:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        rx = _pattern_regex(pattern, greedy=True, anchored=False)
        return rx.sub(lambda _m: replacement, value, count=0 if replace_all else 1)


def _pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """A shell wildcard (``*``, ``?``, ``\\`` escapes; no brackets) as a regex."""
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
        elif tok == "?":
            out.append(".")
        elif tok == "\\":
            nxt = pattern[i] if i < len(pattern) else ""
            if nxt in ("}", "/"):
                continue
            i += 1
            if nxt not in ("*", "?", "\\"):
                raise _Fail(
                    f"invalid pattern ({pattern}) in substitution: invalid escape '\\{nxt}'"
                )
            out.append("\\" + nxt)
        elif tok in "[]{}.+()|^$":
            out.append("\\" + tok)
        else:
            out.append(re.escape(tok) if not tok.isalnum() else tok)
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    m = _pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[m.end() :] if m else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping each escape before the character it escapes."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            tokens.append(pattern[i : i + 2])
            i += 2
        else:
            tokens.append(pattern[i])
            i += 1
    return "".join(reversed(tokens))


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # a regex finds the leftmost match only: reverse both to find the rightmost
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


def expand_word(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """Substitute variables in one word and remove its quotes and escapes (ProcessWord).

    Whitespace is kept: ``expand_word('a  "b c"', {})`` is ``a  b c``.
    """
    return Lexer(env, escape).process(word)[0]


def expand_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Substitute, then split on unquoted whitespace (ProcessWords).

    ``expand_words('$X "b c"', {"X": "1 2"})`` is ``["1", "2", "b c"]``.
    """
    return Lexer(env, escape).process(text)[1]
