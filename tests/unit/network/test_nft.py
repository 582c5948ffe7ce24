"""berth.network.nft: the rendered script, feature by feature (the kernel's view of it
is tests/integration/test_nft.py)."""

from __future__ import annotations

import json
import re

import pytest

from berth.errdefs import InvalidArgument
from berth.network import nft
from berth.network.nft import Network, Port, State, render

BR0 = Network("berth0", ("172.17.0.0/16",))


def chain(script: str, name: str, table: str = "inet berth") -> list[str]:
    """The rules of chain ``name`` inside the ``table { … }`` block of the script."""
    block = script.split(f"table {table} {{\n", 1)[1]
    m = re.search(rf"^\tchain {re.escape(name)} {{\n(.*?)^\t}}", block, re.S | re.M)
    assert m, f"no chain {name} in {table}"
    return [line.strip() for line in m.group(1).splitlines()]


def test_one_transaction_declares_flushes_then_fills_every_berth_chain():
    s = render(State((BR0,)))
    lines = s.splitlines()
    assert lines[1] == "add table inet berth"
    for c in ("forward", "prerouting", "output", "postrouting", "published", "ports"):
        assert f"flush chain inet berth {c}" in lines
        assert lines.index(f"flush chain inet berth {c}") < lines.index("table inet berth {")
    assert (
        "add chain inet berth forward { type filter hook forward priority 0; policy accept; }"
        in lines
    )
    assert (
        "add chain inet berth prerouting { type nat hook prerouting priority -100; policy accept; }"
        in lines
    )
    assert (
        "add chain inet berth output { type nat hook output priority -100; policy accept; }"
        in lines
    )
    assert (
        "add chain inet berth postrouting { type nat hook postrouting priority 100; policy accept; }"
        in lines
    )
    assert 'elements = { "berth0" }' in s
    assert render(State((BR0,))) == s  # the same state, the same script


def test_the_user_chain_is_kept_unless_its_rules_are_given():
    kept = render(State((BR0,)))
    assert "add chain inet berth berth-user" in kept
    assert "flush chain inet berth berth-user" not in kept
    given = render(State((BR0,), user_rules=("meta l4proto tcp ct original proto-dst 5432 drop",)))
    assert "flush chain inet berth berth-user" in given
    assert chain(given, "berth-user") == ["meta l4proto tcp ct original proto-dst 5432 drop"]


def test_masquerade_for_traffic_leaving_the_bridge_not_to_it():
    post = chain(render(State((Network("br-a", ("10.1.0.0/24", "fd00:1::/64")),))), "postrouting")
    assert post == [
        'ip saddr 10.1.0.0/24 oifname != "br-a" masquerade',
        'ip6 saddr fd00:1::/64 oifname != "br-a" masquerade',
    ]


def test_masquerade_can_be_turned_off():
    assert (
        chain(render(State((Network("br-a", ("10.1.0.0/24",), masquerade=False),))), "postrouting")
        == []
    )


def test_forward_same_network_accept_replies_back_in_and_other_networks_isolated():
    fwd = chain(
        render(State((Network("br-a", ("10.1.0.0/24",)), Network("br-b", ("10.2.0.0/24",))))),
        "forward",
    )
    assert fwd[0] == "ct state established,related oifname @bridges accept"
    assert fwd.index("ct status dnat oifname @bridges jump published") < fwd.index(
        'iifname "br-a" oifname @bridges drop'
    )
    for br in ("br-a", "br-b"):
        same = fwd.index(f'iifname "{br}" oifname "{br}" accept')
        other = fwd.index(f'iifname "{br}" oifname @bridges drop')
        egress = fwd.index(f'iifname "{br}" accept')
        assert same < other < egress


def test_an_internal_network_has_no_egress_no_ingress_and_no_masquerade():
    s = render(
        State(
            (
                Network(
                    "br-i",
                    ("10.3.0.0/24",),
                    internal=True,
                    ports=(Port("tcp", 80, "10.3.0.2", 80),),
                ),
            )
        )
    )
    fwd = chain(s, "forward")
    assert fwd[1:3] == [
        'iifname "br-i" oifname != "br-i" drop',
        'oifname "br-i" iifname != "br-i" drop',
    ]
    assert 'iifname "br-i" accept' not in fwd
    assert 'iifname "br-i" oifname "br-i" accept' in fwd
    assert chain(s, "postrouting") == []
    assert chain(s, "ports") == []  # an internal network publishes nothing
    assert nft.sysctls(State((Network("br-i", ("10.3.0.0/24",), internal=True),))) == {}


def test_icc_false_drops_bridged_and_routed_traffic_inside_the_network():
    s = render(State((Network("br-x", ("10.4.0.0/24", "fd00:4::/64"), icc=False), BR0)))
    assert 'iifname "br-x" oifname "br-x" drop' in chain(s, "forward")
    assert chain(s, "forward", table="bridge berth") == [
        "type filter hook forward priority 0; policy accept;",
        "ip saddr 10.4.0.0/24 ip daddr 10.4.0.0/24 drop",
        "ip6 saddr fd00:4::/64 ip6 daddr fd00:4::/64 drop",
    ]


def test_the_bridge_table_goes_away_when_no_network_needs_it():
    s = render(State((BR0,)))
    assert s.rstrip().splitlines()[-2:] == ["add table bridge berth", "delete table bridge berth"]
    assert "table bridge berth {" not in s


def test_published_ports_dnat_from_outside_and_from_the_host():
    n = Network("berth0", ("172.17.0.0/16", "fd00:1::/64"), ports=(
        Port("tcp", 8080, "172.17.0.2", 80),
        Port("udp", 5353, "172.17.0.3", 53, host_ip="127.0.0.1"),
        Port("tcp", 8443, "172.17.0.2", 443, host_ip="0.0.0.0"),
        Port("tcp", 8080, "fd00:1::2", 80, host_ip="::"),
        Port("sctp", 9000, "fd00:1::2", 9000, host_ip="fd00:99::1"),
    ))  # fmt: skip
    s = render(State((n,)))
    assert chain(s, "ports") == [
        "meta nfproto ipv4 tcp dport 8080 dnat ip to 172.17.0.2:80",
        "ip daddr 127.0.0.1 udp dport 5353 dnat ip to 172.17.0.3:53",
        "meta nfproto ipv4 tcp dport 8443 dnat ip to 172.17.0.2:443",
        "meta nfproto ipv6 tcp dport 8080 dnat ip6 to [fd00:1::2]:80",
        "ip6 daddr fd00:99::1 sctp dport 9000 dnat ip6 to [fd00:1::2]:9000",
    ]
    assert chain(s, "prerouting") == ["fib daddr type local jump ports"]
    assert chain(s, "output") == ["fib daddr type local jump ports"]


def test_hairpin_is_masqueraded_and_loopback_gets_one_source_per_host_port():
    n = Network("berth0", ("172.17.0.0/16", "fd00:1::/64"), ports=(
        Port("tcp", 8080, "172.17.0.2", 80),
        Port("tcp", 8081, "172.17.0.2", 80, host_ip="127.0.0.1"),  # two host ports, one container port
        Port("tcp", 8081, "172.17.0.2", 80, host_ip="127.0.0.2"),
        Port("udp", 53, "172.17.0.3", 53, host_ip="0.0.0.0"),
        Port("tcp", 9000, "172.17.0.4", 80, host_ip="192.0.2.1"),  # loopback never reaches it
        Port("tcp", 9001, "fd00:1::2", 80, host_ip="::"),  # nor an IPv6 container
    ))  # fmt: skip
    post = chain(render(State((n,))), "postrouting")
    assert 'ip saddr 172.17.0.0/16 oifname "berth0" ct status dnat masquerade' in post  # hairpin
    assert [r for r in post if r.startswith("ip saddr 127.")] == [
        'ip saddr 127.0.0.0/8 oifname "berth0" meta l4proto tcp snat ip to ct original proto-dst map '
        "{ 8080 : 169.254.31.144, 8081 : 169.254.31.145 }",
        'ip saddr 127.0.0.0/8 oifname "berth0" meta l4proto udp snat ip to ct original proto-dst map { 53 : 169.254.0.53 }',
        'ip saddr 127.0.0.0/8 oifname "berth0" snat ip to 169.254.77.1',  # anything else from loopback
    ]
    assert nft.loopback_source(65535) == "169.254.255.255" and nft.loopback_source(1) == "169.254.0.1"
    assert nft.sysctls(State((n, Network("br-b", ("10.2.0.0/24",))))) == {
        "net.ipv4.conf.berth0.route_localnet": "1"
    }


def test_published_traffic_goes_through_the_user_chain_then_the_policy():
    assert chain(render(State((BR0,))), "published") == [
        "iifname @bridges accept",
        "jump berth-user",
        "accept",
    ]
    assert chain(render(State((BR0,), published_policy="drop")), "published")[-1] == "drop"
    with pytest.raises(InvalidArgument):
        render(State((BR0,), published_policy="reject"))  # type: ignore[arg-type]


def test_no_networks_still_renders_valid_empty_chains():
    s = render(State())
    assert "elements" not in s
    assert chain(s, "ports") == [] and chain(s, "postrouting") == []
    assert chain(s, "forward") == [
        "ct state established,related oifname @bridges accept",
        "ct status dnat oifname @bridges jump published",
    ]


@pytest.mark.parametrize(
    "network",
    [
        Network('br"; flush ruleset', ("10.0.0.0/24",)),
        Network("a-name-longer-than-15", ("10.0.0.0/24",)),
        Network("br-a", ("10.0.0.1/24",)),
        Network("br-a", ("10.0.0.0/24",), ports=(Port("icmp", 1, "10.0.0.2", 1),)),
        Network("br-a", ("10.0.0.0/24",), ports=(Port("tcp", 0, "10.0.0.2", 1),)),
        Network("br-a", ("10.0.0.0/24",), ports=(Port("tcp", 80, "10.0.0.2", 65536),)),
        Network("br-a", ("10.0.0.0/24",), ports=(Port("tcp", 80, "10.0.0.2; drop", 80),)),
        Network("br-a", ("10.0.0.0/24",), ports=(Port("tcp", 80, "10.0.0.2", 80, host_ip="::1"),)),
    ],
)
def test_bad_input_never_reaches_the_script(network):
    with pytest.raises(InvalidArgument):
        render(State((network,)))


def test_two_networks_on_one_bridge_are_refused():
    with pytest.raises(InvalidArgument, match="two networks on one bridge"):
        render(State((BR0, BR0)))


def test_delete_removes_both_tables_whether_or_not_they_exist():
    assert nft.render_delete() == (
        "add table inet berth\ndelete table inet berth\nadd table bridge berth\ndelete table bridge berth\n"
    )


def _chains(*chains: dict) -> str:
    return json.dumps({"nftables": [{"metainfo": {}}, *({"chain": c} for c in chains)]})


def test_host_input_policy_is_read_from_the_hosts_input_chains():
    inp = {
        "family": "inet",
        "table": "filter",
        "name": "input",
        "type": "filter",
        "hook": "input",
        "prio": 0,
    }
    assert nft.host_input_policy(_chains({**inp, "policy": "accept"})) == "accept"
    assert nft.host_input_policy(_chains({**inp, "policy": "drop"})) == "drop"
    assert (
        nft.host_input_policy(_chains({**inp, "family": "ip", "table": "filter", "policy": "drop"}))
        == "drop"
    )
    assert nft.host_input_policy(_chains({**inp, "hook": "forward", "policy": "drop"})) == "accept"
    assert nft.host_input_policy(_chains({**inp, "table": "berth", "policy": "drop"})) == "accept"
    assert (
        nft.host_input_policy(_chains({"family": "inet", "table": "filter", "name": "user"}))
        == "accept"
    )
    assert nft.host_input_policy("") == "accept"


def test_exports_are_sorted_and_present():
    assert nft.__all__ == sorted(nft.__all__, key=lambda n: (not n.isupper(), n))
    for name in nft.__all__:
        assert hasattr(nft, name)
