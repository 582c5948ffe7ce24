"""The ``GET /networks`` and prune filters as dockerd applies them: matching rules,
refusals in dockerd's words."""

from __future__ import annotations

import pytest

from berth.engine.networks import filters as nf
from berth.engine.networks.model import Network
from berth.errdefs import InvalidArgument

BRIDGE = Network(
    id="0f95" + "a" * 60, name="bridge", driver="bridge", created="2026-11-27T20:58:38.996029151Z"
)
HOST = Network(
    id="61ef" + "b" * 60, name="host", driver="host", created="2026-11-27T20:58:38.968646517Z"
)
WEB = Network(
    id="f1bf" + "c" * 60,
    name="myweb1",
    driver="bridge",
    created="2026-11-27T21:06:10.917438217Z",
    labels={"a": "b", "tier": "front"},
)
DB = Network(
    id="051d" + "d" * 60,
    name="db",
    driver="bridge",
    created="2026-11-27T21:04:53Z",
    labels={"a": "c"},
)
ALL = [BRIDGE, HOST, WEB, DB]


def names(networks: list[Network]) -> list[str]:
    return [n.name for n in networks]


def pick(filters: dict[str, list[str]], used: frozenset[str] = frozenset()) -> list[str]:
    nf.validate_list(filters)
    return names(nf.select(ALL, filters, lambda n: n.name in used))


def test_no_filters_keeps_everything_in_order() -> None:
    assert pick({}) == ["bridge", "host", "myweb1", "db"]


def test_driver_and_scope_are_exact() -> None:
    assert pick({"driver": ["bridge"]}) == ["bridge", "myweb1", "db"]
    assert pick({"driver": ["bridg"]}) == []
    assert pick({"driver": ["host", "null"]}) == ["host"]
    assert pick({"scope": ["local"]}) == names(ALL)
    assert pick({"scope": ["swarm"]}) == []


def test_name_is_a_substring_or_regex_match_as_dockerd() -> None:
    assert pick({"name": ["web"]}) == ["myweb1"]
    assert pick({"name": ["^b"]}) == ["bridge"]
    assert pick({"name": ["db", "host"]}) == ["host", "db"]
    assert pick({"name": ["[unclosed"]}) == []  # not a regex: exact only


def test_id_matches_part_of_the_id() -> None:
    assert pick({"id": ["f1bf"]}) == ["myweb1"]
    assert pick({"id": [WEB.id]}) == ["myweb1"]
    assert pick({"id": ["zzz"]}) == []


def test_labels_must_all_hold() -> None:
    assert pick({"label": ["a"]}) == ["myweb1", "db"]
    assert pick({"label": ["a=b"]}) == ["myweb1"]
    assert pick({"label": ["a=b", "tier=front"]}) == ["myweb1"]
    assert pick({"label": ["a=b", "tier=back"]}) == []
    assert pick({"label": ["a="]}) == []


def test_type_custom_and_builtin() -> None:
    assert pick({"type": ["custom"]}) == ["myweb1", "db"]
    assert pick({"type": ["builtin"]}) == ["bridge", "host"]
    assert pick({"type": ["custom", "builtin"]}) == names(ALL)


def test_dangling_true_is_unused_custom_false_is_used_or_builtin() -> None:
    assert pick({"dangling": ["true"]}, frozenset({"db"})) == ["myweb1"]
    assert pick({"dangling": ["1"]}, frozenset()) == ["myweb1", "db"]
    assert pick({"dangling": ["false"]}, frozenset({"db"})) == ["bridge", "host", "db"]
    assert pick({"dangling": ["0"], "type": ["custom"]}, frozenset({"db"})) == ["db"]


def test_in_use_is_asked_only_for_dangling() -> None:
    def boom(n: Network) -> bool:
        raise AssertionError("in_use asked")

    assert names(nf.select(ALL, {"name": ["db"]}, boom)) == ["db"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"until": ["1h"]}, "invalid filter 'until'"),
        ({"driver": ["bridge"], "bogus": ["x"]}, "invalid filter 'bogus'"),
        ({"type": ["foo"]}, "invalid filter: 'type'='foo'"),
        (
            {"dangling": ["yes"]},
            'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")',
        ),
        ({"dangling": ["true", "false"]}, 'got more than one value for filter key "dangling"'),
    ],
)
def test_list_refusals_use_dockerds_words(filters: dict[str, list[str]], message: str) -> None:
    with pytest.raises(InvalidArgument) as ei:
        nf.validate_list(filters)
    assert ei.value.message == message


def test_prune_refusals() -> None:
    with pytest.raises(InvalidArgument, match=r"^invalid filter 'dangling'$"):
        nf.validate_prune({"dangling": ["true"]})
    with pytest.raises(InvalidArgument, match=r"^more than one until filter specified$"):
        nf.validate_prune({"until": ["1", "2"]})
    nf.validate_prune({"until": ["1"], "label": ["a"], "label!": ["b"]})


def _ns(rfc: str) -> str:
    from berth.logs.timefmt import parse_time

    return str(parse_time(rfc))


def test_prune_until_keeps_networks_created_after_the_cutoff() -> None:
    cutoff = {"until": [_ns("2026-11-27T21:05:00Z")]}
    assert nf.prune_match(DB, cutoff)  # 21:04:53, before
    assert not nf.prune_match(WEB, cutoff)  # 21:06:10, after
    assert nf.prune_match(DB, {"until": [_ns(DB.created)]})  # at the cutoff: pruned, as dockerd


def test_prune_labels_and_negated_labels() -> None:
    assert nf.prune_match(WEB, {"label": ["a=b"]})
    assert not nf.prune_match(DB, {"label": ["a=b"]})
    assert not nf.prune_match(WEB, {"label!": ["tier"]})
    assert nf.prune_match(DB, {"label!": ["tier"]})
    # label! keeps only a network matching every one of its values (moby's matchLabels)
    assert nf.prune_match(WEB, {"label!": ["tier", "nope"]})
    assert not nf.prune_match(WEB, {"label!": ["tier", "a=b"]})
    assert nf.prune_match(WEB, {})
