from __future__ import annotations

import pytest

from berth.api.filters import check_keys, encode, parse
from berth.errdefs import InvalidArgument


def test_map_form_from_the_cli() -> None:
    assert parse('{"name":{"apic":true},"status":{"running":true}}') == {"name": ["apic"], "status": ["running"]}


def test_list_form_from_docker_py_and_compose() -> None:
    raw = '{"label": ["com.docker.compose.project=apicc", "com.docker.compose.oneoff=False"]}'
    assert parse(raw) == {"label": ["com.docker.compose.project=apicc", "com.docker.compose.oneoff=False"]}


def test_both_forms_normalise_the_same() -> None:
    assert parse('{"label":{"a=b":true,"c":true}}') == parse('{"label":["a=b","c"]}')


def test_map_values_are_wanted_whatever_their_boolean() -> None:
    assert parse('{"dangling":{"true":false}}') == {"dangling": ["true"]}


def test_empty_and_null() -> None:
    assert parse("") == {}
    assert parse("  ") == {}
    assert parse("null") == {}
    assert parse("{}") == {}


def test_duplicates_collapse() -> None:
    assert parse('{"id":["a","a","b"]}') == {"id": ["a", "b"]}


@pytest.mark.parametrize("raw", ["bad", "[1]", '{"a":1}', '{"a":[1]}', '{"a":{"b":true}'])
def test_malformed_filters_are_invalid_argument(raw: str) -> None:
    with pytest.raises(InvalidArgument):
        parse(raw)


def test_check_keys_names_the_unknown_filter() -> None:
    check_keys({"label": ["x"]}, ["label", "name"])
    with pytest.raises(InvalidArgument, match="invalid filter 'foo'"):
        check_keys({"foo": ["x"]}, ["label"])


def test_encode_round_trips_in_map_form() -> None:
    f = {"label": ["a=b"], "name": ["x", "y"], "empty": []}
    assert encode(f) == '{"label":{"a=b":true},"name":{"x":true,"y":true}}'
    assert parse(encode(f)) == {"label": ["a=b"], "name": ["x", "y"]}
    assert encode({}) == ""
