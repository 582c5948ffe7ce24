"""``--format``: the part of Go's text/template that docker users write, for every command.

Supported: text; actions ``{{.Field}}``, ``{{.A.B}}``, ``{{.}}``, ``{{$}}``; pipelines
``{{.Names | json}}``; function calls ``json``, ``join``, ``split``, ``lower``, ``upper``,
``title``, ``index``, ``len``, ``println``, ``truncate``, ``pad``, ``eq``, ``ne``, ``lt``,
``le``, ``gt``, ``ge``, ``and``, ``or``, ``not``; string, number, ``true``, ``false``,
``nil`` literals; ``{{if}}``/``{{else if}}``/``{{else}}``, ``{{range}}``, ``{{with}}``
… ``{{end}}``; trim markers ``{{-`` ``-}}``. The value ``json`` means ``{{json .}}``.
``table`` at the start, for list commands, adds a header row and aligns columns
(:func:`render_table`); list commands also turn ``\\t`` and ``\\n`` into tab and newline,
as docker's formatter does (``version`` and ``info`` leave them, as docker does).

Data is decoded wire JSON. Fields are looked up by exact key, then ignoring case, so
``{{.Server.APIVersion}}`` (Go's field name) finds the wire key ``ApiVersion``. A field
that does not exist is an error (exit 1), as for docker's structs; a malformed template is
a parse error (exit 64). Values print as Go's ``fmt`` prints them: ``<nil>``, ``true``,
``[a b]``, ``map[k:v]``.
"""

from __future__ import annotations

from berth.oci.fastjson import dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["FormatError", "Template", "go_str", "render", "render_table"]


class FormatError(Exception):
    """``status`` 64 for a template that does not parse, 1 for one that fails to run."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def go_str(v: Any) -> str:
    """``v`` as Go's ``fmt.Print`` shows decoded JSON."""
    if v is None:
        return "<nil>"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e21 else repr(v)
    if isinstance(v, list):
        return "[" + " ".join(go_str(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_str(v[k])}" for k in sorted(v)) + "]"
    return str(v)


def _truth(v: Any) -> bool:
    return not (v is None or v is False or v == 0 or v == "" or v == [] or v == {})


# --- functions -------------------------------------------------------------------------


def _json(v: Any) -> str:
    return dumps(v)


def _join(v: Any, sep: str) -> str:
    return sep.join(go_str(x) for x in (v or []))


def _index(v: Any, *keys: Any) -> Any:
    for k in keys:
        try:
            v = v[k]
        except (KeyError, IndexError, TypeError):
            if isinstance(v, dict):
                v = None  # a missing map key is the zero value, as in Go
            else:
                raise FormatError(f"error calling index: cannot index {go_str(v)} with {go_str(k)}", 1) from None
    return v


def _cmp(op: str) -> Callable[..., bool]:
    def f(a: Any, b: Any) -> bool:
        try:
            if op == "lt":
                return bool(a < b)
            if op == "le":
                return bool(a <= b)
            if op == "gt":
                return bool(a > b)
            return bool(a >= b)
        except TypeError:
            raise FormatError(f"error calling {op}: incompatible types for comparison", 1) from None

    return f


FUNCS: dict[str, Callable[..., Any]] = {
    "json": _json,
    "join": _join,
    "split": lambda s, sep: str(s).split(sep),
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "title": lambda s: " ".join(w[:1].upper() + w[1:] for w in str(s).split(" ")),
    "index": _index,
    "len": lambda v: len(v) if v is not None else 0,
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n",
    "truncate": lambda s, n: str(s)[: int(n)],
    "pad": lambda s, left, right: " " * int(left) + go_str(s) + " " * int(right),
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "lt": _cmp("lt"),
    "le": _cmp("le"),
    "gt": _cmp("gt"),
    "ge": _cmp("ge"),
    "and": lambda *a: next((x for x in a if not _truth(x)), a[-1] if a else None),
    "or": lambda *a: next((x for x in a if _truth(x)), a[-1] if a else None),
    "not": lambda a: not _truth(a),
}


# --- parsing ---------------------------------------------------------------------------

# Nodes are tuples: ("text", s) | ("action", pipe) | ("if"|"with"|"range", pipe, body, orelse)
# A pipe is a list of commands; a command a list of operands:
# ("field", names, pos) | ("dot",) | ("root",) | ("lit", value) | ("func", name)


def _parse_error(msg: str) -> FormatError:
    return FormatError(f"template parsing error: template: :1: {msg}", 64)


def _tokens(src: str) -> list[str]:
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in " \t\r\n":
            i += 1
        elif c in "|()":
            out.append(c)
            i += 1
        elif c == '"':
            j = i + 1
            buf = []
            while j < n and src[j] != '"':
                if src[j] == "\\" and j + 1 < n:
                    j += 1
                    buf.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"'}.get(src[j], "\\" + src[j]))
                else:
                    buf.append(src[j])
                j += 1
            if j >= n:
                raise _parse_error("unterminated quoted string")
            out.append('"' + "".join(buf))
            i = j + 1
        elif c == "`":
            j = src.find("`", i + 1)
            if j < 0:
                raise _parse_error("unterminated raw quoted string")
            out.append('"' + src[i + 1 : j])
            i = j + 1
        else:
            j = i
            while j < n and src[j] not in " \t\r\n|()":
                j += 1
            out.append(src[i:j])
            i = j
    return out


def _operand(tok: str, first: bool) -> tuple[Any, ...]:
    if tok.startswith('"'):
        return ("lit", tok[1:])
    if tok == ".":
        return ("dot",)
    if tok == "$":
        return ("root",)
    if tok.startswith("."):
        names = tok[1:].split(".")
        if not all(names):
            raise _parse_error(f"bad field {tok!r}")
        return ("field", names, tok)
    if tok.startswith("$."):
        return ("rootfield", tok[2:].split("."), tok)
    if tok in ("true", "false"):
        return ("lit", tok == "true")
    if tok == "nil":
        return ("lit", None)
    if tok[:1].isdigit() or (tok[:1] == "-" and tok[1:2].isdigit()):
        try:
            return ("lit", float(tok) if "." in tok or "e" in tok else int(tok, 0))
        except ValueError:
            raise _parse_error(f"bad number syntax: {tok!r}") from None
    if tok in FUNCS:
        return ("func", tok)
    raise _parse_error(f'function "{tok}" not defined')


def _pipeline(src: str) -> list[list[tuple[Any, ...]]]:
    toks = _tokens(src)
    if not toks:
        raise _parse_error("missing value for command")
    pipe: list[list[tuple[Any, ...]]] = [[]]
    for t in toks:
        if t == "|":
            if not pipe[-1]:
                raise _parse_error("missing command in pipeline")
            pipe.append([])
        elif t in "()":
            raise _parse_error("parenthesised pipelines are not supported by berth")
        else:
            pipe[-1].append(_operand(t, not pipe[-1]))
    if not pipe[-1]:
        raise _parse_error("missing command in pipeline")
    return pipe


def _lex(text: str) -> list[tuple[str, str]]:
    """[("text", s) | ("action", inner)] with trim markers applied."""
    out: list[tuple[str, str]] = []
    i = 0
    trim_next = False
    while True:
        j = text.find("{{", i)
        chunk = text[i:] if j < 0 else text[i:j]
        if trim_next:
            chunk = chunk.lstrip(" \t\r\n")
        if j < 0:
            if chunk:
                out.append(("text", chunk))
            return out
        k = text.find("}}", j + 2)
        if k < 0:
            raise _parse_error("unclosed action")
        inner = text[j + 2 : k]
        if inner[:1] == "-" and inner[1:2] in (" ", "\t", "\n", "\r"):
            chunk = chunk.rstrip(" \t\r\n")
            inner = inner[1:]
        trim_next = inner[-1:] == "-" and inner[-2:-1] in (" ", "\t", "\n", "\r")
        if trim_next:
            inner = inner[:-1]
        if chunk:
            out.append(("text", chunk))
        inner = inner.strip()
        if inner.startswith("/*") and inner.endswith("*/"):
            i = k + 2
            continue
        out.append(("action", inner))
        i = k + 2


def _build(items: list[tuple[str, str]], pos: int, closers: tuple[str, ...]) -> tuple[list[Any], int, str]:
    """Nodes up to one of ``closers`` (``end``, ``else``): (nodes, position of the closer,
    the closer's text)."""
    nodes: list[Any] = []
    while pos < len(items):
        kind, s = items[pos]
        if kind == "text":
            nodes.append(("text", s))
            pos += 1
            continue
        word, _, rest = s.partition(" ")
        if word in ("end", "else"):
            if word not in closers:
                raise _parse_error(f"unexpected {{{{{word}}}}}")
            return nodes, pos, s
        if word in ("if", "with", "range"):
            node, pos = _block(items, pos + 1, word, _pipeline(rest))
            nodes.append(node)
            continue
        nodes.append(("action", _pipeline(s)))
        pos += 1
    if closers:
        raise _parse_error("unexpected EOF")
    return nodes, pos, ""


def _block(items: list[tuple[str, str]], pos: int, word: str, pipe: Any) -> tuple[Any, int]:
    """The rest of an if/with/range block, its ``{{end}}`` consumed."""
    body, pos, closer = _build(items, pos, ("end", "else"))
    orelse: list[Any] = []
    if closer != "end":
        after = closer[4:].strip()
        if after.startswith("if ") and word == "if":
            # {{else if x}} … {{end}} is {{else}}{{if x}} … {{end}}{{end}} with one end
            node, pos = _block(items, pos + 1, "if", _pipeline(after[3:]))
            return (word, pipe, body, [node]), pos
        if after:
            raise _parse_error(f"unexpected {{{{{closer}}}}}")
        orelse, pos, closer = _build(items, pos + 1, ("end",))
    return (word, pipe, body, orelse), pos + 1


# --- execution -------------------------------------------------------------------------


def _field(v: Any, names: list[str], shown: str) -> Any:
    for name in names:
        if isinstance(v, _Header):
            return v.name(name)
        if v is None:
            return None
        if not isinstance(v, dict):
            raise FormatError(
                f'template: :1: executing "" at <{shown}>: can\'t evaluate field {name} in type {type(v).__name__}', 1
            )
        if name in v:
            v = v[name]
            continue
        low = name.lower()
        for k in v:
            if isinstance(k, str) and k.lower() == low:
                v = v[k]
                break
        else:
            raise FormatError(f'template: :1: executing "" at <{shown}>: can\'t evaluate field {name}', 1)
    return v


class _Header:
    """Data for a table's header row: every field evaluates to its column title."""

    def __init__(self, titles: dict[str, str]) -> None:
        self.titles = titles

    def name(self, field: str) -> str:
        return self.titles.get(field, field.upper())


def _eval(op: tuple[Any, ...], dot: Any, root: Any) -> Any:
    kind = op[0]
    if kind == "lit":
        return op[1]
    if kind == "dot":
        return dot
    if kind == "root":
        return root
    if kind == "field":
        return _field(dot, op[1], op[2])
    if kind == "rootfield":
        return _field(root, op[1], op[2])
    return FUNCS[op[1]]()


def _run_pipe(pipe: list[list[tuple[Any, ...]]], dot: Any, root: Any) -> Any:
    result: Any = None
    for i, cmd in enumerate(pipe):
        head = cmd[0]
        if head[0] == "func":
            args = [_eval(op, dot, root) for op in cmd[1:]]
            if i > 0:
                args.append(result)
            if isinstance(dot, _Header) and head[1] == "json":
                result = args[0] if args else ""
                continue
            try:
                result = FUNCS[head[1]](*args)
            except FormatError:
                raise
            except (TypeError, ValueError, AttributeError) as exc:
                raise FormatError(f'template: :1: executing "" at <{head[1]}>: error calling {head[1]}: {exc}', 1) from None
        else:
            if len(cmd) > 1 or i > 0:
                raise FormatError("template: :1: can't give argument to non-function", 1)
            result = _eval(head, dot, root)
    return result


def _exec(nodes: list[Any], dot: Any, root: Any, out: list[str]) -> None:
    for node in nodes:
        kind = node[0]
        if kind == "text":
            out.append(node[1])
        elif kind == "action":
            out.append(go_str(_run_pipe(node[1], dot, root)))
        elif kind == "if":
            _exec(node[2] if _truth(_run_pipe(node[1], dot, root)) else node[3], dot, root, out)
        elif kind == "with":
            v = _run_pipe(node[1], dot, root)
            _exec(node[2], v, root, out) if _truth(v) else _exec(node[3], dot, root, out)
        else:  # range
            v = _run_pipe(node[1], dot, root)
            items = [v[k] for k in sorted(v)] if isinstance(v, dict) else list(v or [])
            if not items:
                _exec(node[3], dot, root, out)
            for item in items:
                _exec(node[2], item, root, out)


class Template:
    def __init__(self, text: str, unescape: bool = False) -> None:
        if text.strip() == "json":
            text = "{{json .}}"
        if unescape:
            text = text.replace("\\t", "\t").replace("\\n", "\n")
        self.text = text
        self.nodes, _, _ = _build(_lex(text), 0, ())

    def execute(self, data: Any) -> str:
        out: list[str] = []
        _exec(self.nodes, data, data, out)
        return "".join(out)


def render(fmt: str, data: Any, unescape: bool = False) -> str:
    """``data`` through the template ``fmt``, with a final newline as docker prints it."""
    return Template(fmt, unescape).execute(data) + "\n"


def render_table(fmt: str, rows: list[Any], titles: dict[str, str]) -> str:
    """A list command's output: ``table …`` gets a header row from ``titles`` (field →
    column title, default the field upper-cased) and aligned columns (docker's tabwriter:
    minwidth 10, padding 3); other formats are one line per row."""
    from berth.cli.tabwriter import tabwrite

    table = fmt.startswith("table")
    t = Template(fmt[5:].strip() if table else fmt, unescape=True)
    lines = [t.execute(_Header(titles))] if table else []
    lines += [t.execute(row) for row in rows]
    text = "".join(line + "\n" for line in lines)
    return tabwrite(text, minwidth=10, padding=3) if table else text
