import json

import pytest

from berth.oci import fastjson


@pytest.mark.parametrize(
    "doc",
    ['{"a": [1, 2.5, -3e2, true, false, null, "x\\u00e9\\n"]}', "[]", "{}", '"s"', "0", ' \n{"k":{"n":[{}]}} \n'],
)
def test_loads_matches_json(doc):
    assert fastjson.loads(doc) == json.loads(doc)


@pytest.mark.parametrize("obj", [{"a": [1, None, "é", 2.5, True]}, [], {"x": {"y": []}}, "plain"])
def test_dumps_round_trips_and_is_compact(obj):
    s = fastjson.dumps(obj)
    assert json.loads(s) == obj
    assert ", " not in s and ": " not in s


def test_dumps_indent_matches_go_marshal_indent_layout():
    obj = {"a": [1, {"b": None, "c": []}], "d": {}, "e": 'x"y'}
    assert fastjson.dumps_indent(obj) == json.dumps(obj, indent=2)


@pytest.mark.parametrize("doc,where", [('{"a":}', "column 6"), ("[1] x", "extra data"), ("", "expecting value"), ('{"a" 1}', "line 1")])
def test_errors_say_where(doc, where):
    with pytest.raises(ValueError) as e:
        fastjson.loads(doc)
    assert where in str(e.value)


def test_bytes_with_bom():
    assert fastjson.loads(b'\xef\xbb\xbf{"a":1}') == {"a": 1}
