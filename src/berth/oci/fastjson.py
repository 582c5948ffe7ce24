"""JSON without importing :mod:`json`.

``import json`` pulls in :mod:`re` and :mod:`enum` (about 6 ms), which is a fifth of the
budget of a whole ``berth-runtime create``. The C accelerator ``_json`` that :mod:`json`
itself uses has no such imports, so the fast paths (berth-runtime, berth-shim, the CLI)
parse and print through it directly. Behaviour matches ``json.loads``/``json.dumps`` for the
documents we handle (objects, arrays, strings, numbers, booleans, null); :mod:`json` is
the fallback where ``_json`` is missing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~3 ms

if TYPE_CHECKING:
    from typing import Any

__all__ = ["JSONDecodeError", "dumps", "dumps_indent", "loads"]


class JSONDecodeError(ValueError):
    """The document is not valid JSON; ``pos`` is the offset of the problem."""

    def __init__(self, msg: str, doc: str, pos: int) -> None:
        line = doc.count("\n", 0, pos) + 1
        col = pos - doc.rfind("\n", 0, pos)
        super().__init__(f"{msg}: line {line} column {col} (char {pos})")
        self.pos = pos


try:
    import _json
except ImportError:  # pragma: no cover - every CPython has it
    _json = None  # type: ignore[assignment]


class _Context:
    # The attributes _json.make_scanner reads from json.JSONDecoder.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, str] = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}[name]


_WS = " \t\n\r"


def loads(s: str | bytes) -> Any:
    """Parse one JSON document."""
    if isinstance(s, (bytes, bytearray)):
        s = s.decode("utf-8-sig" if s[:3] == b"\xef\xbb\xbf" else "utf-8")
    if _json is None:  # pragma: no cover
        import json

        return json.loads(s)
    scan = _json.make_scanner(_Context)  # type: ignore[arg-type]
    n = len(s)
    i = 0
    while i < n and s[i] in _WS:
        i += 1
    try:
        obj, end = scan(s, i)
    except StopIteration as exc:
        raise JSONDecodeError("expecting value", s, exc.value) from None
    except (ValueError, SystemError):
        # _json builds its error from json.decoder, which it finds only when already
        # imported (else SystemError). Errors are the slow path: let json say where.
        import json

        try:
            json.loads(s)
        except json.JSONDecodeError as exc:
            raise JSONDecodeError(exc.msg.lower(), s, exc.pos) from None
        raise
    while end < n and s[end] in _WS:
        end += 1
    if end != n:
        raise JSONDecodeError("extra data", s, end)
    return obj


def _default(o: Any) -> Any:
    raise TypeError(f"object of type {type(o).__name__} is not JSON serializable")


def dumps(obj: Any, indent: int | None = None, sort_keys: bool = False) -> str:
    """Serialise ``obj``; compact (``,`` and ``:`` without spaces) unless ``indent``."""
    if indent is not None or _json is None:
        import json

        return json.dumps(obj, indent=indent, sort_keys=sort_keys)
    enc = _json.make_encoder(
        None, _default, _json.encode_basestring_ascii, None, ":", ",", sort_keys, False, True
    )
    return "".join(enc(obj, 0))


def dumps_indent(obj: Any, indent: str = "  ", _level: int = 0) -> str:
    """Like ``json.dumps(obj, indent=2)`` (Go's MarshalIndent layout), without :mod:`json`."""
    pad = "\n" + indent * (_level + 1)
    end = "\n" + indent * _level
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [
            _json.encode_basestring_ascii(str(k)) + ": " + dumps_indent(v, indent, _level + 1)
            for k, v in obj.items()
        ]
        return "{" + pad + ("," + pad).join(items) + end + "}"
    if isinstance(obj, (list, tuple)):
        if not obj:
            return "[]"
        return "[" + pad + ("," + pad).join(dumps_indent(v, indent, _level + 1) for v in obj) + end + "]"
    return dumps(obj)
