from __future__ import annotations

import pytest

from berth.cli.format import FormatError, Template, go_str, render, render_table

VERSION = {
    "Client": {"Version": "0.1.0", "ApiVersion": "1.41", "Os": "linux"},
    "Server": {
        "Version": "0.1.0",
        "ApiVersion": "1.41",
        "Components": [{"Name": "Engine", "Details": {"Os": "linux"}}, {"Name": "runc", "Details": {}}],
        "Platform": {"Name": ""},
    },
}


def run(fmt: str, data: object = VERSION, unescape: bool = False) -> str:
    return Template(fmt, unescape).execute(data)


def test_fields_and_nested_fields() -> None:
    assert run("{{.Server.Version}}") == "0.1.0"
    assert run("v{{ .Client.Version }} on {{.Client.Os}}") == "v0.1.0 on linux"


def test_go_field_names_find_wire_keys() -> None:
    assert run("{{.Server.APIVersion}}") == "1.41"  # Go's field name, wire key ApiVersion


def test_json() -> None:
    assert run("{{json .Server.Platform}}") == '{"Name":""}'
    assert run("{{json .}}", {"a": [1, None]}) == '{"a":[1,null]}'
    assert run("json", {"a": 1}) == '{"a":1}'
    assert run("{{.Server.Platform | json}}") == '{"Name":""}'


def test_values_print_as_go_prints_them() -> None:
    assert go_str(None) == "<nil>"
    assert go_str(True) == "true"
    assert go_str(["a", 1]) == "[a 1]"
    assert go_str({"b": 1, "a": [True]}) == "map[a:[true] b:1]"
    assert go_str(2.0) == "2" and go_str(2.5) == "2.5"


def test_tabs_are_unescaped_only_when_asked() -> None:
    assert run(r"{{.Client.Version}}\t{{.Client.Os}}") == r"0.1.0\tlinux"
    assert run(r"{{.Client.Version}}\t{{.Client.Os}}\n", unescape=True) == "0.1.0\tlinux\n"


def test_functions() -> None:
    data = {"Names": ["/a", "/b"], "S": "Hello World", "M": {"k": "v"}, "N": 3}
    assert run('{{join .Names ","}}', data) == "/a,/b"
    assert run("{{upper .S}} {{lower .S}}", data) == "HELLO WORLD hello world"
    assert run('{{index .M "k"}} {{index .Names 1}}', data) == "v /b"
    assert run("{{len .Names}}", data) == "2"
    assert run('{{split "a:b" ":"}}', data) == "[a b]"
    assert run("{{truncate .S 5}}", data) == "Hello"
    assert run('{{title "hello world"}}', data) == "Hello World"
    assert run("{{println .N}}", data) == "3\n"
    assert run('{{pad .N 1 2}}|', data) == " 3  |"


def test_control_structures() -> None:
    data = {"On": True, "Off": False, "L": [{"n": 1}, {"n": 2}], "E": [], "M": {"b": 2, "a": 1}, "W": {"x": "y"}}
    assert run("{{if .On}}yes{{else}}no{{end}}", data) == "yes"
    assert run("{{if .Off}}yes{{else}}no{{end}}", data) == "no"
    assert run("{{if .Off}}a{{else if .On}}b{{else}}c{{end}}", data) == "b"
    assert run("{{if .Off}}a{{else if .Off}}b{{else}}c{{end}}", data) == "c"
    assert run("{{range .L}}[{{.n}}]{{end}}", data) == "[1][2]"
    assert run("{{range .E}}x{{else}}empty{{end}}", data) == "empty"
    assert run("{{range .M}}{{.}}{{end}}", data) == "12"
    assert run("{{with .W}}{{.x}}{{end}}", data) == "y"
    assert run('{{if eq .W.x "y"}}eq{{end}}', data) == "eq"
    assert run("{{range .L}}{{$.On}}{{end}}", data) == "truetrue"
    assert run("{{if and .On .Off}}x{{else}}y{{end}}", data) == "y"
    assert run("{{if or .Off .On}}x{{end}}", data) == "x"
    assert run("{{if not .Off}}x{{end}}", data) == "x"


def test_trim_markers() -> None:
    assert run("a  {{- .Client.Os -}}  b") == "alinuxb"
    assert run("{{/* comment */}}x", {}) == "x"


def test_missing_field_is_an_execution_error() -> None:
    with pytest.raises(FormatError) as e:
        run("{{.Nope}}")
    assert e.value.status == 1
    assert "can't evaluate field Nope" in str(e.value)


def test_parse_errors_exit_64() -> None:
    for bad in ("{{.Foo", "{{nosuch .}}", "{{end}}", "{{if .X}}", "{{.A | }}", '{{"x}}'):
        with pytest.raises(FormatError) as e:
            Template(bad)
        assert e.value.status == 64
        assert str(e.value).startswith("template parsing error: ")


def test_render_adds_the_newline() -> None:
    assert render("{{.a}}", {"a": 1}) == "1\n"


def test_table_with_header_and_alignment() -> None:
    rows = [{"ID": "abc", "Name": "web"}, {"ID": "defghijklmno", "Name": "db"}]
    out = render_table(r"table {{.ID}}\t{{.Name}}", rows, {"ID": "CONTAINER ID", "Name": "NAMES"})
    assert out == (
        "CONTAINER ID   NAMES\n"
        "abc            web\n"
        "defghijklmno   db\n"
    )
    assert render_table(r"{{.ID}}\t{{.Name}}", rows, {}) == "abc\tweb\ndefghijklmno\tdb\n"
