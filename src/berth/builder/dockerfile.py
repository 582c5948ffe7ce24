"""The Dockerfile parser, as Docker's (moby/buildkit ``frontend/dockerfile/parser`` and
``instructions``).

**Lines.** The text is read line by line (a UTF-8 BOM and CRLF endings are accepted). A
line whose first non-blank character is ``#`` is a comment, also in the middle of a
continued instruction, where it is dropped. The escape character at the end of a line
(trailing blanks allowed) continues the instruction on the next line: it is removed and
the next line appended as is (its leading blanks kept, no separator added); blank lines
inside a continuation are dropped with a warning.

**Parser directives** are comments of the form ``# name=value`` before anything else
(instruction, other comment, blank line); names are case-insensitive and only
``syntax`` and ``escape`` are known (an unknown one ends the directives). ``# escape=```
makes the backtick the escape and continuation character (for Windows paths).

**Instructions.** The first word is the instruction (any case); then leading
``--name=value`` flags (quotes removed); the rest is parsed per instruction:

* RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK's command — *exec form* when the rest is a JSON
  array of strings (``args`` the strings, ``json`` true), else *shell form* (``args`` the
  rest as one string). Invalid JSON falls back to shell form, as Docker does; a JSON
  array of something other than strings is an error.
* COPY, ADD, VOLUME — a JSON array, or the whitespace-separated words.
* FROM, EXPOSE — the whitespace-separated words.
* ARG — words, split on unquoted blanks (quotes kept for the expander).
* ENV, LABEL — the rest as one string (``args.parse_kv`` reads the pairs).
* USER, WORKDIR, STOPSIGNAL, MAINTAINER, ONBUILD — the rest as one string.
* HEALTHCHECK — ``(type, *command)``: ``("NONE",)`` or ``("CMD", …)``.

**Heredocs** (RUN, COPY, ADD in shell form, also under ONBUILD): each ``<<WORD`` on the
line takes the following lines up to a line that is exactly ``WORD``; ``<<-WORD`` strips
leading tabs (from the body and the terminator); a quoted word (``<<'EOF'``,
``<<"EOF"``) means the body is not expanded.

**original** is what Docker's classic builder prints as ``Step N/M : <original>``: the
instruction's text with comment lines dropped, continuation characters removed, lines
joined without separator, then blanks trimmed at both ends (``strings.TrimSpace(
node.Original)``); heredoc bodies are not part of it.

Errors are :class:`DockerfileParseError` (an InvalidArgument) with Docker's messages:
those of the parser itself are bare (``unterminated heredoc``, ``file with no
instructions``), those found when reading an instruction are prefixed with
``dockerfile parse error line N:`` as in Docker.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from berth import errdefs
from berth.builder import args as argmod
from berth.builder.expand import Lexer
from berth.gofmt import go_quote

__all__ = [
    "INSTRUCTIONS",
    "Dockerfile",
    "DockerfileParseError",
    "Heredoc",
    "Instruction",
    "parse",
    "parse_onbuild",
]

INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
        "WORKDIR",
    }
)  # fmt: skip

# flag name -> kind ("string", "strings" may repeat, "bool"), per instruction (BFlags)
_FLAGS: dict[str, dict[str, str]] = {
    "ADD": {"chown": "string", "chmod": "string", "link": "bool", "keep-git-dir": "bool",
            "checksum": "string", "exclude": "strings", "unpack": "bool"},
    "COPY": {"chown": "string", "chmod": "string", "from": "string", "link": "bool",
             "parents": "bool", "exclude": "strings"},
    "FROM": {"platform": "string"},
    "RUN": {"mount": "strings", "network": "string", "security": "string", "device": "strings"},
    "HEALTHCHECK": {"interval": "string", "timeout": "string", "start-period": "string",
                    "start-interval": "string", "retries": "string"},
}  # fmt: skip

_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_\.]*$")
_ONBUILD_PREFIX = re.compile(r"^\s*ONBUILD\s*", re.IGNORECASE)
_HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})


class DockerfileParseError(errdefs.InvalidArgument):
    """A Dockerfile Docker would refuse; ``line``/``end_line`` locate it (1-based, 0 unknown)."""

    def __init__(self, message: str, line: int = 0, end_line: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.end_line = end_line or line


@dataclass(frozen=True)
class Heredoc:
    name: str  # the delimiter word, e.g. EOF
    content: str  # the body, each line with its newline
    expand: bool  # False when the delimiter was quoted: no variable expansion
    chomp: bool  # <<-EOF: leading tabs stripped (already applied to content)


@dataclass(frozen=True)
class Instruction:
    """One instruction; see the module docstring for what ``args`` holds per kind."""

    cmd: str
    args: tuple[str, ...]
    json: bool
    flags: tuple[tuple[str, str], ...]
    original: str
    line: int
    end_line: int
    heredocs: tuple[Heredoc, ...] = ()
    escape: str = "\\"

    def flag(self, name: str, default: str | None = None) -> str | None:
        """The last value given to ``--name`` (``""`` for a bare ``--name``), else default."""
        value = default
        for k, v in self.flags:
            if k == name:
                value = v
        return value

    def flag_values(self, name: str) -> list[str]:
        """Every value of a repeatable flag (``--mount``, ``--exclude``), in order."""
        return [v for k, v in self.flags if k == name]


@dataclass(frozen=True)
class Dockerfile:
    instructions: tuple[Instruction, ...]
    directives: dict[str, str]  # lower-case name -> value, from the leading comments
    escape: str  # "\\" or "`"
    warnings: tuple[str, ...] = field(default=())  # as the classic builder prints them


class _Directives:
    def __init__(self) -> None:
        self.escape = "\\"
        self.done = False
        self.values: dict[str, str] = {}
        self._set_escape("\\")

    def _set_escape(self, value: str) -> None:
        if value not in ("`", "\\"):
            raise ValueError(f"invalid escape token '{value}' does not match ` or \\")
        self.escape = value
        e = re.escape(value)
        self.continuation = re.compile(rf"([^{e}]){e}[ \t]*$|^{e}[ \t]*$")

    def possible(self, line: str) -> None:
        if self.done:
            return
        m = _DIRECTIVE.match(line)
        if not m:
            self.done = True
            return
        key = m.group(1).lower()
        if key not in ("syntax", "escape"):
            self.done = True
            return
        if key in self.values:
            raise ValueError(f"only one {key} parser directive can be used")
        if key == "escape":
            self._set_escape(m.group(2))
        self.values[key] = m.group(2)

    def trim_continuation(self, line: str) -> tuple[str, bool]:
        """(line without the continuation character, whether the instruction ends here)."""
        if self.continuation.search(line):
            return self.continuation.sub(lambda m: m.group(1) or "", line), False
        return line, True


def _trim_newline(s: str) -> str:
    return s.rstrip("\r\n")


def _is_comment(raw: str) -> bool:
    return _trim_newline(raw).lstrip().startswith("#")


def _split_lines(text: str) -> list[str]:
    """Lines with their ``\\n`` kept (Go's scanner as the parser configures it)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def parse(text: str | bytes) -> Dockerfile:
    """Parse a Dockerfile; every instruction is checked as Docker checks it before a build."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = _split_lines(text)
    d = _Directives()
    out: list[Instruction] = []
    empty_continuations: list[str] = []
    current = 0
    i = 0

    def processed(raw: str, strip_left: bool) -> str:
        token = _trim_newline(raw)
        if strip_left:
            token = token.lstrip()
        try:
            d.possible(token)
        except ValueError as exc:
            raise DockerfileParseError(str(exc), current + 1) from None
        return "" if token.startswith("#") else token

    while i < len(lines):
        raw = lines[i]
        i += 1
        token = processed(raw, True)
        current += 1
        start = current
        line, end = d.trim_continuation(token)
        if end and line == "":
            continue
        has_empty = False
        while not end and i < len(lines):
            raw = lines[i]
            i += 1
            token = processed(raw, False)
            current += 1
            if _is_comment(raw):
                continue
            if not _trim_newline(token).lstrip():
                has_empty = True
                continue
            more, end = d.trim_continuation(token)
            line += more
        if has_empty:
            empty_continuations.append("[WARNING]: Empty continuation line found in:\n    " + line)
        try:
            ins = _node(line, d.escape, start, current)
            inner = _onbuild_inner(ins) if ins.cmd == "ONBUILD" else ins
            docs_found = _heredocs_from_line(line) if _may_have_heredocs(inner) else []
        except (ValueError, errdefs.InvalidArgument) as exc:
            raise DockerfileParseError(_message(exc), start, current) from None
        if docs_found:
            docs: list[Heredoc] = []
            for name, expand, chomp in docs_found:
                body: list[str] = []
                terminated = False
                while i < len(lines):
                    raw = lines[i]
                    i += 1
                    current += 1
                    candidate = _trim_newline(raw)
                    if chomp:
                        candidate = candidate.lstrip("\t")
                    if candidate == name:
                        terminated = True
                        break
                    body.append(raw)
                if not terminated:
                    raise DockerfileParseError("unterminated heredoc", start, current)
                content = "".join(body)
                if chomp:
                    content = _LEADING_TABS.sub("", content)
                docs.append(Heredoc(name=name, content=content, expand=expand, chomp=chomp))
            ins = _replace(ins, end_line=current, heredocs=tuple(docs))
        else:
            ins = _replace(ins, end_line=current)
        out.append(ins)
    if not out:
        raise DockerfileParseError("file with no instructions", current)
    for ins in out:
        _check(ins)
    warnings = tuple(empty_continuations)
    if warnings:
        warnings += ("[WARNING]: Empty continuation lines will become errors in a future release.",)
    return Dockerfile(
        instructions=tuple(out), directives=dict(d.values), escape=d.escape, warnings=warnings
    )


def _replace(ins: Instruction, **changes: object) -> Instruction:
    return replace(ins, **changes)  # type: ignore[arg-type]


def _message(exc: ValueError | errdefs.InvalidArgument) -> str:
    return exc.message if isinstance(exc, errdefs.InvalidArgument) else str(exc)


def _may_have_heredocs(ins: Instruction | None) -> bool:
    return ins is not None and ins.cmd in _HEREDOC_INSTRUCTIONS and not ins.json


def _onbuild_inner(ins: Instruction) -> Instruction | None:
    if not ins.args:
        return None
    return _node(ins.args[0], ins.escape, ins.line, ins.end_line)


def parse_onbuild(instr: Instruction) -> Instruction:
    """The instruction an ONBUILD wraps, checked as Docker checks it when it triggers.

    It keeps the ONBUILD's lines and heredocs; its ``original`` is the trigger text
    (``RUN echo hi`` for ``ONBUILD RUN echo hi``).
    """
    if instr.cmd != "ONBUILD":
        raise errdefs.InvalidArgument(f"{instr.cmd} is not an ONBUILD instruction")
    _check(instr)
    try:
        inner = _onbuild_inner(instr)
    except (ValueError, errdefs.InvalidArgument) as exc:
        raise DockerfileParseError(_message(exc), instr.line, instr.end_line) from None
    assert inner is not None  # _check refused an empty ONBUILD
    expression = _ONBUILD_PREFIX.sub("", instr.original, count=1)
    inner = _replace(inner, original=expression.strip(), heredocs=instr.heredocs)
    _check(inner)
    return inner


def _heredocs_from_line(line: str) -> list[tuple[str, bool, bool]]:
    """(name, expand, chomp) for each ``<<WORD`` on the line (heredocsFromLine)."""
    try:
        words = Lexer({}, "\\", raw_quotes=True, raw_escapes=True, skip_unset=True).process(line)[1]
    except errdefs.InvalidArgument:
        return []
    docs: list[tuple[str, bool, bool]] = []
    for word in words:
        m = _HEREDOC.match(word)
        if not m or not m.group(3):
            continue
        rest = m.group(3)
        try:
            plain = Lexer({}, "\\", skip_unset=True).process(rest)[1]
            raw = Lexer({}, "\\", raw_quotes=True, skip_unset=True).process(rest)[1]
        except errdefs.InvalidArgument as exc:
            raise ValueError(exc.message) from None
        if len(plain) != 1 or len(raw) != 1:
            continue

        def quotes(s: str) -> int:
            return s.count("'") + s.count('"')

        docs.append((plain[0], quotes(plain[0]) == quotes(raw[0]), m.group(2) == "-"))
    return docs


def _extract_flags(text: str) -> tuple[str, list[str]]:
    """Leading ``--flag[=value]`` words, quotes and backslashes processed (extractBuilderFlags)."""
    words: list[str] = []
    word: list[str] = []
    phase = "spaces"
    quote = ""
    blank_ok = False
    pos = 0
    n = len(text)
    while pos <= n:
        ch = text[pos] if pos < n else ""
        if phase == "spaces":
            if pos == n:
                break
            if ch.isspace():
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or text[pos + 1] != "-":
                return text[pos:], words
            phase = "word"
        if pos == n:
            w = "".join(word)
            if w != "--" and (blank_ok or w):
                words.append(w)
            break
        if phase == "word":
            if ch.isspace():
                phase = "spaces"
                w = "".join(word)
                if w == "--":
                    return text[pos:], words
                if blank_ok or w:
                    words.append(w)
                word, blank_ok = [], False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote, blank_ok, phase = ch, True, "quote"
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = text[pos]
            word.append(ch)
            pos += 1
            continue
        # in a quote
        if ch == quote:
            phase = "word"
            pos += 1
            continue
        if ch == "\\":
            if pos + 1 == n:
                phase = "word"
                pos += 1
                continue
            pos += 1
            ch = text[pos]
        word.append(ch)
        pos += 1
    return "", words


def _json_array(rest: str) -> list[str] | None:
    """The strings of a JSON array, or None when the text is not one (parseJSON)."""
    rest = rest.lstrip()
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, str) for v in value):
        raise ValueError("when using JSON array syntax, arrays must be comprised of strings only")
    return value


def _node(line: str, escape: str, start: int, end: int) -> Instruction:
    """One instruction from its joined line (newNodeFromLine); ValueError on parser errors."""
    parts = _WHITESPACE.split(line.strip(), maxsplit=1)
    cmd = parts[0].upper()
    rest, raw_flags = _extract_flags(parts[1]) if len(parts) == 2 else ("", [])
    rest = rest.strip()
    flags = []
    for f in raw_flags:
        name, sep, value = f.partition("=")
        flags.append((name, value, bool(sep)))
    args: tuple[str, ...] = ()
    is_json = False
    if cmd in ("RUN", "CMD", "ENTRYPOINT", "SHELL"):
        if rest:
            arr = _json_array(rest)
            args, is_json = (tuple(arr), True) if arr is not None else ((rest,), False)
    elif cmd in ("COPY", "ADD", "VOLUME"):
        arr = _json_array(rest)
        if arr is not None:
            args, is_json = tuple(arr), True
        elif rest:
            args = tuple(_WHITESPACE.split(rest))
    elif cmd in ("FROM", "EXPOSE"):
        if rest:
            args = tuple(_WHITESPACE.split(rest))
    elif cmd == "ARG":
        args = tuple(argmod.parse_words(rest, escape))
    elif cmd == "HEALTHCHECK":
        m = re.match(r"(\S*)\s*(.*)$", rest, re.DOTALL)
        typ, command = (m.group(1), m.group(2)) if m else (rest, "")
        if typ:
            arr = _json_array(command) if command else None
            if arr is not None:
                args, is_json = (typ, *arr), True
            else:
                args = (typ, command) if command else (typ,)
    elif cmd == "ONBUILD":
        if rest:
            _node(rest, escape, start, end)  # the trigger's own parser errors
            args = (rest,)
    elif rest:
        args = (rest,)
    if cmd in ("ENV", "LABEL") and rest:
        argmod.split_kv(cmd, rest, escape)  # the parser's own checks (parseNameVal)
    return Instruction(
        cmd=cmd,
        args=args,
        json=is_json,
        flags=tuple((n[2:] if n.startswith("--") else n, v) for n, v, _ in flags),
        original=line.strip(),
        line=start,
        end_line=end,
        escape=escape,
    )


def _check(ins: Instruction) -> None:
    """The checks of Docker's ``instructions.ParseInstruction``."""
    try:
        _check_inner(ins)
    except (ValueError, errdefs.InvalidArgument) as exc:
        message = f"dockerfile parse error line {ins.line}: {_message(exc)}"
        raise DockerfileParseError(message, ins.line, ins.end_line) from None


def _check_flags(ins: Instruction) -> None:
    known = _FLAGS.get(ins.cmd, {})
    if ins.cmd == "HEALTHCHECK" and ins.args and ins.args[0].upper() == "NONE":
        return  # Docker declares no flags for NONE and never parses them
    used: set[str] = set()
    for raw in _raw_flags(ins):
        if raw == "--":
            return
        if not raw.startswith("--"):
            raise ValueError(f"Arg should start with -- : {raw}")
        name, sep, value = raw[2:].partition("=")
        kind = known.get(name)
        if kind is None:
            raise ValueError(f"Unknown flag: {name}")
        if name in used and kind != "strings":
            raise ValueError(f"Duplicate flag specified: {name}")
        used.add(name)
        if kind == "bool":
            if sep and value == "":
                raise ValueError(f"Missing a value on flag: {name}")
            if value.lower() not in ("", "true", "false"):
                raise ValueError(f"Expecting boolean value for flag {name}, not: {value}")
        elif not sep:
            raise ValueError(f"Missing a value on flag: {name}")


def _raw_flags(ins: Instruction) -> list[str]:
    parts = _WHITESPACE.split(ins.original.strip(), maxsplit=1)
    return _extract_flags(parts[1])[1] if len(parts) == 2 else []


def _check_inner(ins: Instruction) -> None:
    cmd = ins.cmd
    if cmd not in INSTRUCTIONS:
        raise ValueError(f"unknown instruction: {cmd}")
    if cmd in ("MAINTAINER", "WORKDIR", "USER", "STOPSIGNAL") and len(ins.args) != 1:
        raise ValueError(f"{cmd} requires exactly one argument")
    if cmd in ("ENV", "LABEL"):
        argmod.parse_kv(ins)
    elif cmd in ("ADD", "COPY"):
        _check_flags(ins)
        argmod.parse_copy_sources(ins)
    elif cmd == "FROM":
        words = ins.args
        if len(words) == 3 and words[1].lower() == "as":
            if not _STAGE_NAME.match(words[2].lower()):
                raise ValueError(
                    f"invalid name for build stage: {go_quote(words[2])}, name can't start with a number or contain symbols"
                )
        elif len(words) != 1:
            raise ValueError("FROM requires either one or three arguments")
    elif cmd == "ONBUILD":
        if not ins.args:
            raise ValueError("ONBUILD requires at least one argument")
        trigger = _WHITESPACE.split(ins.args[0].strip(), maxsplit=1)[0].upper()
        if trigger == "ONBUILD":
            raise ValueError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if trigger in ("MAINTAINER", "FROM"):
            raise ValueError(f"{trigger} isn't allowed as an ONBUILD trigger")
    elif cmd == "HEALTHCHECK":
        _check_flags(ins)
        argmod.parse_healthcheck(ins)
    elif cmd == "EXPOSE" and not ins.args:
        raise ValueError("EXPOSE requires at least one argument")
    elif cmd == "VOLUME":
        if not ins.args:
            raise ValueError("VOLUME requires at least one argument")
        if any(not v.strip() for v in ins.args):
            raise ValueError("VOLUME specified can not be an empty string")
    elif cmd == "ARG":
        argmod.parse_arg(ins)
    elif cmd == "SHELL":
        if not ins.args:
            raise ValueError("SHELL requires at least one argument")
        if not ins.json:
            raise ValueError("SHELL requires the arguments to be in JSON form")
    if cmd not in ("ADD", "COPY", "HEALTHCHECK"):
        _check_flags(ins)
