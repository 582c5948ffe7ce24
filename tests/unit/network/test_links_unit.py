"""berth.network.links and tc without the kernel: names, MACs, validation, error
translation, and pyroute2 kept off import paths."""

from __future__ import annotations

import subprocess
import sys

import pytest

from berth import errdefs
from berth.network import _nl, links, tc


def test_host_veth_name_derived_from_endpoint_id() -> None:
    eid = "3F2A9C0D1E" + "0" * 54
    assert links.host_veth_name(eid) == "vb3f2a9c0d1e"
    assert links.host_veth_name(eid) == links.host_veth_name(eid.lower())


def test_host_veth_name_random_is_valid_and_distinct() -> None:
    names = {links.host_veth_name() for _ in range(50)}
    assert len(names) == 50
    for n in names:
        assert len(n) == 12 <= 15 and n.startswith("vb")
        assert links.validate_ifname(n) == n


@pytest.mark.parametrize("bad", ["", "short", "zz" * 10, "../../etc/x"])
def test_host_veth_name_rejects_bad_ids(bad: str) -> None:
    with pytest.raises(errdefs.InvalidArgument):
        links.host_veth_name(bad)


def test_ifb_name_follows_veth() -> None:
    assert links.ifb_name("vb0123456789") == "ib0123456789"
    with pytest.raises(errdefs.InvalidArgument):
        links.ifb_name("eth0")


@pytest.mark.parametrize(
    ("addr", "mac"),
    [("172.17.0.2/16", "02:42:ac:11:00:02"), ("10.213.1.254/24", "02:42:0a:d5:01:fe"), ("192.168.1.1", "02:42:c0:a8:01:01")],
)
def test_derive_mac_as_docker(addr: str, mac: str) -> None:
    assert links.derive_mac(addr) == mac


def test_derive_mac_refuses_ipv6() -> None:
    with pytest.raises(errdefs.InvalidArgument, match="not ipv4"):
        links.derive_mac("fd00::2/64")


@pytest.mark.parametrize("bad", ["", "a" * 16, "with space", "a/b", ".", ".."])
def test_validate_ifname(bad: str) -> None:
    with pytest.raises(errdefs.InvalidArgument):
        links.validate_ifname(bad)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"address_cidr": "10.0.0.2"}, "no prefix length"),
        ({"address_cidr": "fd00::2/64"}, "not ipv4"),
        ({"address_cidr": "10.0.0.2/24", "mac": "nope"}, "invalid mac"),
        ({"address_cidr": "10.0.0.2/24", "mtu": 10}, "invalid mtu"),
        ({"address_cidr": "10.0.0.2/24", "gateway": "x"}, "invalid gateway"),
        ({"address_cidr": "10.0.0.2/24", "ifname": "a" * 16}, "invalid interface name"),
    ],
)
def test_connect_validates_before_touching_the_kernel(kw: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"gateway": "10.0.0.1", **kw}
    with pytest.raises(errdefs.InvalidArgument, match=match):
        links.connect("/nonexistent/netns", "br0", **args)  # type: ignore[arg-type]


def test_sysctl_keys() -> None:
    assert links._sysctl_parts("net.ipv4.ip_forward") == ("net", "ipv4", "ip_forward")
    assert links._sysctl_parts("net/ipv4/conf/eth0.100/forwarding")[3] == "eth0.100"
    for bad in ("", "net..x", "net/../../etc"):
        with pytest.raises(errdefs.InvalidArgument):
            links._sysctl_parts(bad)


def test_owned_names() -> None:
    assert links._owned("vb0123456789", "vb")
    assert links._owned("ib0123456789", "ib")
    assert not links._owned("vb01234567", "vb")
    assert not links._owned("vbxyz3456789", "vb")
    assert links._owned("berth0", "berth")


def test_netlink_errors_keep_errno_and_name_the_object() -> None:
    from pyroute2.netlink.exceptions import NetlinkError

    err = _nl.error("create bridge 'berth0'", NetlinkError(17))
    assert isinstance(err, errdefs.AlreadyExists)
    assert str(err) == "create bridge 'berth0': file exists"
    assert isinstance(_nl.error("delete link 'x'", NetlinkError(19)), errdefs.Internal)
    assert isinstance(_nl.error("x", OSError(1, "nope")), errdefs.PermissionDenied)
    assert _nl.is_errno(NetlinkError(19), 19) and not _nl.is_errno(ValueError(), 19)


def test_tc_bucket_and_rate_checks() -> None:
    assert tc.bucket_bytes(8_000_000) == 20_000
    assert tc.bucket_bytes(1_000_000) == 16 * 1024
    assert tc._check(None, "egress") is None and tc._check(0, "egress") is None
    for bad in (-1, 4, 2**40):
        with pytest.raises(errdefs.InvalidArgument, match="bandwidth"):
            tc._check(bad, "egress")


def test_importing_network_links_does_not_load_pyroute2() -> None:
    code = "import sys\nimport berth.network.links, berth.network.tc\nprint('pyroute2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
