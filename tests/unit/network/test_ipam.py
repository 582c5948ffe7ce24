"""berth.network.ipam: default pools skipping the host's routes and berth's own networks,
requested subnets/ranges/gateways/addresses with Docker's errors, release and reuse,
persistence in berth.db, IPv6 ULA subnets."""

from __future__ import annotations

import ipaddress
import json

import pytest

from berth.errdefs import Conflict, InvalidArgument, NotFound, Unavailable
from berth.metadata import Database
from berth.network.ipam import (
    DEFAULT_POOLS,
    Ipam,
    Subnet,
    ipam_config,
    parse_ip_addr_json,
    parse_ip_route_json,
    parse_proc_net_route,
    subnets_of,
)

N = ipaddress.ip_network


class Host:
    """An injected host: the networks its routes and addresses cover."""

    def __init__(self, *nets: str) -> None:
        self.nets = [N(n) for n in nets]

    def __call__(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return list(self.nets)


@pytest.fixture
def db(tmp_path):
    d = Database(str(tmp_path / "berth.db"))
    yield d
    d.close()


def make_ipam(db, *host: str, randbits=None) -> Ipam:
    kw = {} if randbits is None else {"randbits": randbits}
    return Ipam(db, host_networks=Host(*host), **kw)


def add_network(db, id: str, *subnets: Subnet) -> None:
    doc = json.dumps({"Name": id, "IPAM": ipam_config(subnets)})
    with db.networks() as tx:
        tx.add_network(id, id, "bridge", doc)


# -- default pools ----------------------------------------------------------------------


def test_default_pools_are_dockers():
    assert DEFAULT_POOLS[0] == N("172.17.0.0/16")
    assert DEFAULT_POOLS[14] == N("172.31.0.0/16")
    assert DEFAULT_POOLS[15] == N("192.168.0.0/20")
    assert DEFAULT_POOLS[-1] == N("192.168.240.0/20")
    assert len(DEFAULT_POOLS) == 15 + 16


def test_the_first_pool_on_a_bare_host_is_172_17_with_gateway_dot_1(db):
    s = make_ipam(db).allocate_subnet()
    assert s == Subnet(N("172.17.0.0/16"), ipaddress.ip_address("172.17.0.1"))
    assert s.to_config() == {"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}


def test_a_pool_overlapping_a_host_route_or_address_is_skipped(db):
    # docker0 on 172.17/16, a VPN route inside 172.18/16, an address in 172.19/16
    ipam = make_ipam(db, "172.17.0.0/16", "172.18.5.0/24", "172.19.0.7/32", "10.0.0.0/8")
    assert ipam.allocate_subnet().subnet == N("172.20.0.0/16")


def test_a_wide_host_route_covering_all_of_172_16_12_moves_to_192_168(db):
    ipam = make_ipam(db, "172.16.0.0/12", "192.168.0.0/24")
    assert ipam.allocate_subnet().subnet == N("192.168.16.0/20")


def test_pools_held_or_recorded_by_berth_networks_are_skipped(db):
    ipam = make_ipam(db)
    a = ipam.allocate_subnet()
    b = ipam.allocate_subnet()  # a is held in memory, not yet a row
    assert (a.subnet, b.subnet) == (N("172.17.0.0/16"), N("172.18.0.0/16"))
    add_network(db, "net-a", a)
    add_network(db, "net-b", b)
    assert ipam.allocate_subnet().subnet == N("172.19.0.0/16")


def test_every_pool_taken_is_dockers_exhaustion_error(db):
    ipam = make_ipam(db, "172.16.0.0/12", "192.168.0.0/16")
    with pytest.raises(
        NotFound, match="could not find an available, non-overlapping IPv4 address pool"
    ):
        ipam.allocate_subnet()


def test_exhausting_the_pools_one_network_at_a_time(db):
    ipam = make_ipam(db)
    got = [ipam.allocate_subnet().subnet for _ in DEFAULT_POOLS]
    assert got == list(DEFAULT_POOLS)
    with pytest.raises(NotFound):
        ipam.allocate_subnet()


def test_a_released_subnet_is_reused(db):
    ipam = make_ipam(db)
    a = ipam.allocate_subnet()
    ipam.allocate_subnet()
    ipam.release_subnet(a)
    ipam.release_subnet(a)  # idempotent
    assert ipam.allocate_subnet().subnet == a.subnet


def test_a_removed_network_frees_its_subnet(db):
    ipam = make_ipam(db)
    a = ipam.allocate_subnet()
    add_network(db, "net-a", a)
    assert ipam.allocate_subnet().subnet != a.subnet
    with db.networks() as tx:
        tx.remove_network("net-a")
    assert ipam.allocate_subnet().subnet == a.subnet


# -- requested subnets, ranges, gateways -----------------------------------------------------


def test_a_requested_subnet_gateway_and_range_are_kept(db):
    s = make_ipam(db).allocate_subnet("10.5.0.0/16", "10.5.1.0/24", "10.5.0.254")
    assert s.to_config() == {
        "Subnet": "10.5.0.0/16",
        "Gateway": "10.5.0.254",
        "IPRange": "10.5.1.0/24",
    }


def test_a_requested_subnet_may_overlap_a_host_route_but_not_a_berth_network(db):
    ipam = make_ipam(db, "10.0.0.0/8")
    ipam.allocate_subnet("10.1.0.0/16")
    with pytest.raises(Conflict) as exc:
        ipam.allocate_subnet("10.1.128.0/17")
    assert (
        str(exc.value) == "invalid pool request: Pool overlaps with other one on this address space"
    )
    with pytest.raises(Conflict, match="Pool overlaps"):
        ipam.allocate_subnet("10.0.0.0/8")  # a supernet overlaps too


def test_a_requested_subnet_overlapping_a_recorded_network_is_refused(db):
    add_network(db, "net-a", Subnet(N("10.9.0.0/24"), ipaddress.ip_address("10.9.0.1")))
    with pytest.raises(Conflict, match="Pool overlaps with other one on this address space"):
        make_ipam(db).allocate_subnet("10.9.0.128/25")


def test_a_default_pool_skips_a_requested_one(db):
    ipam = make_ipam(db)
    ipam.allocate_subnet("172.17.3.0/24")
    assert ipam.allocate_subnet().subnet == N("172.18.0.0/16")


@pytest.mark.parametrize(
    ("subnet", "ip_range", "gateway", "kind", "message"),
    [
        (
            "10.0.0.0/24",
            None,
            "10.0.1.1",
            InvalidArgument,
            "no matching subnet for gateway 10.0.1.1",
        ),
        (
            "10.0.0.0/24",
            "10.0.1.0/28",
            None,
            InvalidArgument,
            "no matching subnet for range 10.0.1.0/28",
        ),
        (
            "10.0.0.0/24",
            "10.0.0.0/23",
            None,
            InvalidArgument,
            "no matching subnet for range 10.0.0.0/23",
        ),
        (
            None,
            None,
            "10.0.0.1",
            InvalidArgument,
            "every ip-range or gateway must have a corresponding subnet",
        ),
        (
            None,
            "10.0.0.0/28",
            None,
            InvalidArgument,
            "every ip-range or gateway must have a corresponding subnet",
        ),
        (
            "10.0.0.1/24",
            None,
            None,
            InvalidArgument,
            "invalid subnet 10.0.0.1/24: it should be 10.0.0.0/24",
        ),
        ("10.0.0.0/33", None, None, InvalidArgument, "invalid CIDR address: 10.0.0.0/33"),
        ("banana", None, None, InvalidArgument, "invalid CIDR address: banana"),
        (
            "10.0.0.0/24",
            None,
            "10.0.0.x",
            InvalidArgument,
            'ParseAddr("10.0.0.x"): unable to parse IP',
        ),
        (
            "10.0.0.0/24",
            "fd00::/120",
            None,
            InvalidArgument,
            "no matching subnet for range fd00::/120",
        ),
    ],
)
def test_bad_requests_get_dockers_messages(db, subnet, ip_range, gateway, kind, message):
    ipam = make_ipam(db)
    with pytest.raises(kind) as exc:
        ipam.allocate_subnet(subnet, ip_range, gateway)
    assert str(exc.value) == message
    assert ipam.allocate_subnet("10.0.0.0/24").subnet == N("10.0.0.0/24")  # nothing was held


# -- addresses ---------------------------------------------------------------------------------


def net_with(db, ipam, id="n1", subnet="10.7.0.0/24", ip_range=None, gateway=None) -> Subnet:
    s = ipam.allocate_subnet(subnet, ip_range, gateway)
    add_network(db, id, s)
    return s


def test_addresses_start_after_the_gateway_and_are_recorded(db):
    ipam = make_ipam(db)
    net_with(db, ipam)
    assert ipam.allocate_address("n1", owner="c1") == "10.7.0.2"
    assert ipam.allocate_address("n1", owner="c2") == "10.7.0.3"
    with db.networks() as tx:
        assert {(a.address, a.owner) for a in tx.allocations("n1")} == {
            ("10.7.0.2", "c1"),
            ("10.7.0.3", "c2"),
        }


def test_a_gateway_in_the_middle_is_skipped_and_dot_1_used(db):
    ipam = make_ipam(db)
    net_with(db, ipam, gateway="10.7.0.3")
    got = [ipam.allocate_address("n1", owner=f"c{i}") for i in range(3)]
    assert got == ["10.7.0.1", "10.7.0.2", "10.7.0.4"]


def test_addresses_come_from_the_ip_range(db):
    ipam = make_ipam(db)
    net_with(db, ipam, subnet="10.7.0.0/16", ip_range="10.7.5.0/30")
    assert [ipam.allocate_address("n1", owner=f"c{i}") for i in range(4)] == [
        "10.7.5.0", "10.7.5.1", "10.7.5.2", "10.7.5.3",
    ]  # fmt: skip
    with pytest.raises(Unavailable, match="No available addresses on this pool"):
        ipam.allocate_address("n1", owner="c5")


def test_a_small_subnet_is_exhausted_and_a_release_makes_room(db):
    ipam = make_ipam(db)
    net_with(db, ipam, subnet="10.7.0.0/29")  # .1 gateway, .2-.6 hosts, .7 broadcast
    got = [ipam.allocate_address("n1", owner=f"c{i}") for i in range(5)]
    assert got == [f"10.7.0.{i}" for i in range(2, 7)]
    with pytest.raises(Unavailable) as exc:
        ipam.allocate_address("n1", owner="c6")
    assert str(exc.value) == "No available addresses on this pool"
    ipam.release_address("n1", "10.7.0.4")
    ipam.release_address("n1", "10.7.0.4")  # releasing a free one is fine
    assert ipam.allocate_address("n1", owner="c6") == "10.7.0.4"


def test_a_requested_address_is_given_once(db):
    ipam = make_ipam(db)
    net_with(db, ipam)
    assert ipam.allocate_address("n1", "10.7.0.50", owner="c1") == "10.7.0.50"
    with pytest.raises(Conflict) as exc:
        ipam.allocate_address("n1", "10.7.0.50", owner="c2")
    assert str(exc.value) == "Address already in use"
    assert ipam.allocate_address("n1", owner="c3") == "10.7.0.2"


@pytest.mark.parametrize(
    ("requested", "kind", "message"),
    [
        ("10.7.0.1", Conflict, "Address already in use"),  # the gateway
        ("10.7.0.0", InvalidArgument, "Requested address is out of range"),
        ("10.7.0.255", InvalidArgument, "Requested address is out of range"),
        (
            "10.8.0.5",
            InvalidArgument,
            "no configured subnet or ip-range contain the IP address 10.8.0.5",
        ),
        (
            "10.7.0.9",
            InvalidArgument,
            "no configured subnet or ip-range contain the IP address 10.7.0.9",
        ),
        (
            "fd00::5",
            InvalidArgument,
            "no configured subnet or ip-range contain the IP address fd00::5",
        ),
        ("nope", InvalidArgument, 'ParseAddr("nope"): unable to parse IP'),
    ],
)
def test_bad_requested_addresses_get_dockers_messages(db, requested, kind, message):
    ipam = make_ipam(db)
    s = net_with(db, ipam)
    if requested == "10.7.0.9":  # outside the ip range, inside the subnet
        with db.networks() as tx:
            tx.remove_network("n1")
        ipam.release_subnet(s)
        net_with(db, ipam, ip_range="10.7.0.128/25")
    with pytest.raises(kind) as exc:
        ipam.allocate_address("n1", requested, owner="c1")
    assert str(exc.value) == message
    with db.networks() as tx:
        assert tx.allocations("n1") == []


def test_an_unknown_network_is_not_found(db):
    with pytest.raises(NotFound, match="network nope not found"):
        make_ipam(db).allocate_address("nope", owner="c1")


def test_release_owner_frees_every_address_it_holds(db):
    ipam = make_ipam(db)
    net_with(db, ipam, "n1", "10.7.0.0/24")
    net_with(db, ipam, "n2", "10.8.0.0/24")
    ipam.allocate_address("n1", owner="c1")
    ipam.allocate_address("n2", owner="c1")
    ipam.allocate_address("n1", owner="c2")
    assert ipam.release_owner("c1") == [("n1", "10.7.0.2"), ("n2", "10.8.0.2")]
    assert ipam.allocate_address("n1", owner="c3") == "10.7.0.2"
    assert ipam.release_owner("c1") == []


def test_removing_a_network_removes_its_allocations(db):
    ipam = make_ipam(db)
    net_with(db, ipam)
    ipam.allocate_address("n1", owner="c1")
    with db.networks() as tx:
        tx.remove_network("n1")
        assert tx.allocations("n1") == []


# -- persistence ---------------------------------------------------------------------------------


def test_subnets_and_addresses_survive_reopening_the_database(tmp_path):
    path = str(tmp_path / "berth.db")
    with Database(path) as db:
        ipam = make_ipam(db)
        add_network(db, "n1", ipam.allocate_subnet())
        assert ipam.allocate_address("n1", owner="c1") == "172.17.0.2"
    with Database(path) as db:
        ipam = make_ipam(db)  # a restarted daemon: nothing held in memory
        assert ipam.allocate_subnet().subnet == N("172.18.0.0/16")
        assert ipam.allocate_address("n1", owner="c2") == "172.17.0.3"
        with pytest.raises(Conflict, match="Address already in use"):
            ipam.allocate_address("n1", "172.17.0.2", owner="c3")


# -- IPv6 -----------------------------------------------------------------------------------------


class Bits:
    def __init__(self, *values: int) -> None:
        self.values = list(values)
        self.asked: list[int] = []

    def __call__(self, n: int) -> int:
        self.asked.append(n)
        return self.values.pop(0)


def test_an_ipv6_network_gets_a_random_ula_64(db):
    bits = Bits(0x12345678_9ABCDE)
    s = make_ipam(db, randbits=bits).allocate_subnet(v6=True)
    assert bits.asked == [56]
    assert s.subnet == N("fd12:3456:789a:bcde::/64")
    assert str(s.gateway) == "fd12:3456:789a:bcde::1"


def test_an_ula_prefix_overlapping_the_host_or_a_network_is_drawn_again(db):
    bits = Bits(0x01, 0x02, 0x03)
    ipam = make_ipam(db, "fd00:0:0:1::/64", randbits=bits)
    add_network(db, "n6", Subnet(N("fd00:0:0:2::/64"), ipaddress.ip_address("fd00:0:0:2::1")))
    assert ipam.allocate_subnet(v6=True).subnet == N("fd00:0:0:3::/64")


def test_a_requested_ipv6_subnet_and_dual_stack_addresses(db):
    ipam = make_ipam(db)
    v4 = ipam.allocate_subnet("10.7.0.0/24")
    v6 = ipam.allocate_subnet("fd00:abcd::/64")
    assert str(v6.gateway) == "fd00:abcd::1"
    add_network(db, "n1", v4, v6)
    assert ipam.allocate_address("n1", owner="c1") == "10.7.0.2"
    assert ipam.allocate_address("n1", owner="c1", v6=True) == "fd00:abcd::2"
    assert ipam.allocate_address("n1", "fd00:abcd::ff", owner="c2") == "fd00:abcd::ff"
    with pytest.raises(Conflict, match="Pool overlaps"):
        ipam.allocate_subnet("fd00:abcd::/48")


def test_a_v4_only_network_has_no_v6_addresses(db):
    ipam = make_ipam(db)
    net_with(db, ipam)
    with pytest.raises(InvalidArgument, match="network n1 has no IPv6 subnet"):
        ipam.allocate_address("n1", owner="c1", v6=True)


# -- docs and host readers ----------------------------------------------------------------------


def test_subnets_round_trip_through_a_network_doc():
    a = Subnet(N("10.7.0.0/16"), ipaddress.ip_address("10.7.0.1"), N("10.7.1.0/24"))
    b = Subnet(N("fd00::/64"), ipaddress.ip_address("fd00::1"))
    doc = json.dumps({"IPAM": ipam_config([a, b])})
    assert subnets_of(doc) == [a, b]
    assert subnets_of({"IPAM": {"Config": [{"Subnet": "10.1.0.0/24"}]}})[
        0
    ].gateway == ipaddress.ip_address("10.1.0.1")
    assert subnets_of({"Name": "host"}) == []
    assert a.with_prefix("10.7.1.2") == "10.7.1.2/16"


def test_ip_route_json_keeps_destinations_but_not_default_link_local_or_multicast():
    text = json.dumps([
        {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
        {"dst": "10.216.125.0/24", "dev": "br0"},
        {"type": "local", "dst": "10.216.125.1", "table": "local"},
        {"dst": "fe80::/64", "dev": "eth0"},
        {"type": "multicast", "dst": "ff00::/8", "table": "local"},
        {"dst": "fd00::/64", "dev": "eth0"},
    ])  # fmt: skip
    assert parse_ip_route_json(text) == [N("10.216.125.0/24"), N("10.216.125.1/32"), N("fd00::/64")]


def test_ip_addr_json_gives_each_address_network():
    text = json.dumps([
        {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
        {"ifname": "wg0", "addr_info": [
            {"family": "inet", "local": "172.17.3.4", "prefixlen": 24},
            {"family": "inet6", "local": "fe80::1", "prefixlen": 64},
        ]},
    ])  # fmt: skip
    assert parse_ip_addr_json(text) == [N("127.0.0.0/8"), N("172.17.3.0/24")]


def test_proc_net_route_is_little_endian_hex():
    text = (
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "br0\t007DD80A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    )
    assert parse_proc_net_route(text) == [N("10.216.125.0/24")]
