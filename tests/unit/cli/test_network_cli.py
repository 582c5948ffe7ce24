"""``berth network …`` against a scripted daemon: the requests the docker CLI sends (the
recorded traces), output and errors as docker 28 prints them, exit statuses."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from berth.cli.args import parse
from berth.cli.commands import network_connect, network_create, network_ls
from berth.cli.context import CliError

from .apifake import FakeDaemon, daemon


def _net(name: str, nid: str, driver: str, created: str, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Name": name, "Id": nid, "Created": created, "Scope": "local", "Driver": driver,
        "EnableIPv6": False, "IPAM": {"Driver": "default", "Options": None, "Config": []},
        "Internal": False, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
        "ConfigOnly": False, "Containers": {}, "Options": {}, "Labels": {},
    }  # fmt: skip
    doc.update(extra)
    return doc


# network_ls.txt, as dockerd listed them (unsorted)
NETWORKS = [
    _net("none", "0a73dfff508104879624bfff842dadc4465ee421b8ad0de1a1c5a5aa06dee790", "null", "2026-11-27T20:58:38.956681412Z"),
    _net("host", "61effc41a120922086909afa14f65447484abf2ac5101641ddee88f15cbd7d63", "host", "2026-11-27T20:58:38.968646517Z"),
    _net("bridge", "0f95d5a3abe8524d6ce022a800bf351a0bef7c6da5ce4168d981c9c8d77f38c4", "bridge", "2026-11-27T20:58:38.996029151Z"),
    _net("apic-net", "051ddc6fb1e0a81ec83e6f4b0b068fdb37cef80500566a8436dd0d5802771918", "bridge", "2026-11-27T21:04:53.890316403Z"),
    _net("apic-net2", "f1bf8e375c76fbfe790b61950fef6bc9fd1e7d6007ee565541eec02934a09942", "bridge",
         "2026-11-27T21:06:10.917438217Z", Labels={"a": "b"}),
]  # fmt: skip
NET2_ID = NETWORKS[4]["Id"]

# the bodies the docker CLI 28 sent (network_create.txt, network_connect.txt, network_disconnect.txt)
TRACE_CREATE = (
    '{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.219.5.0/24"}]},'
    '"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},'
    '"Labels":{"a":"b"},"Name":"apic-net2","CheckDuplicate":true}'
)
TRACE_CONNECT = (
    '{"Container":"apic-n","EndpointConfig":{"IPAMConfig":{},"Links":null,"Aliases":["web"],"MacAddress":"",'
    '"DriverOpts":{},"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,'
    '"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}'
)
TRACE_DISCONNECT = '{"Container":"apic-n","Force":false}'


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDaemon]:
    f = FakeDaemon()
    f.on("GET", "/networks", json.dumps(NETWORKS))
    f.on("POST", "/networks/create", '{"Id":"' + NET2_ID + '","Warning":""}', 201)
    f.on("POST", "/networks/prune", '{"NetworksDeleted":["apic-net","apic-net2"]}')
    f.error("GET", "/networks/nosuch", 404, "network nosuch not found")
    f.on("GET", "/networks/{id}", json.dumps(NETWORKS[4]))
    f.error("DELETE", "/networks/nosuch", 404, "network nosuch not found")
    f.error(
        "DELETE", "/networks/bridge", 403, "bridge is a pre-defined network and cannot be removed"
    )
    f.on("DELETE", "/networks/{id}", status=204)
    f.error("POST", "/networks/nosuch/connect", 404, "network nosuch not found")
    f.on("POST", "/networks/{id}/connect")
    f.on("POST", "/networks/{id}/disconnect")
    with daemon(f):
        yield f


def go(fake: FakeDaemon, *argv: str) -> int:
    fake.seen.clear()
    return fake.run(*argv)


def bodies(fake: FakeDaemon) -> list[Any]:
    return [json.loads(b) if b else None for _, _, b in fake.seen]


def test_create_sends_the_traced_body_and_prints_the_id(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    status = go(
        fake,
        "network",
        "create",
        "--driver",
        "bridge",
        "--subnet",
        "10.219.5.0/24",
        "--label",
        "a=b",
        "apic-net2",
    )
    assert status == 0 and capsys.readouterr().out == NET2_ID + "\n"
    assert fake.targets() == ["POST /v1.41/networks/create"]
    assert fake.seen[0][2].decode() == TRACE_CREATE


def _body(*argv: str) -> dict[str, Any]:
    opts, args = parse(list(argv), network_create.COMMAND.flags)
    return network_create.create_body(args[0], opts)


def test_create_matches_ranges_gateways_and_aux_addresses_to_their_subnet() -> None:
    body = _body(
        "--subnet", "10.1.0.0/16,fd00:1::/64", "--ip-range", "fd00:1::/80", "--gateway", "10.1.0.1",
        "--ip-range", "10.1.128.0/17", "--aux-address", "h1=10.1.0.5", "--aux-address", "h2=fd00:1::5",
        "--ipv6", "--internal", "--attachable", "-o", "com.docker.network.driver.mtu=1400",
        "--ipam-driver", "default", "--ipam-opt", "x=y", "-d", "bridge", "n1",
    )  # fmt: skip
    assert body["IPAM"] == {
        "Driver": "default",
        "Options": {"x": "y"},
        "Config": [
            {"Subnet": "10.1.0.0/16", "IPRange": "10.1.128.0/17", "Gateway": "10.1.0.1", "AuxiliaryAddresses": {"h1": "10.1.0.5"}},
            {"Subnet": "fd00:1::/64", "IPRange": "fd00:1::/80", "AuxiliaryAddresses": {"h2": "fd00:1::5"}},
        ],
    }  # fmt: skip
    assert list(body)[:3] == ["Driver", "Scope", "EnableIPv6"] and body["EnableIPv6"] is True
    assert (
        body["Internal"]
        and body["Attachable"]
        and body["Options"] == {"com.docker.network.driver.mtu": "1400"}
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--gateway", "10.0.0.1"], "every ip-range or gateway must have a corresponding subnet"),
        (
            ["--subnet", "10.0.0.0/24", "--gateway", "10.9.0.1"],
            "no matching subnet for gateway 10.9.0.1",
        ),
        (
            ["--subnet", "10.0.0.0/24", "--ip-range", "10.9.0.0/25"],
            "no matching subnet for range 10.9.0.0/25",
        ),
        (
            ["--subnet", "10.0.0.0/24", "--aux-address", "a=nonsense"],
            "no matching subnet for aux-address nonsense",
        ),
        (
            ["--subnet", "10.0.0.0/24", "--aux-address", "a=10.1.0.1"],
            "no matching subnet for aux-address 10.1.0.1",
        ),
        (
            ["--subnet", "10.0.0.0/16", "--subnet", "10.0.1.0/24"],
            "multiple overlapping subnet configuration is not supported",
        ),
        (["--subnet", "bogus"], "invalid subnet: invalid CIDR address: bogus"),
        (
            ["--subnet", "10.0.0.0/24", "--ip-range", "10.0.0.0/25,10.0.0.0/99"],
            'invalid argument "10.0.0.0/25,10.0.0.0/99" for "--ip-range" flag: '
            "invalid string being converted to CIDR: 10.0.0.0/99",
        ),
        (
            [
                "--subnet",
                "10.0.0.0/24",
                "--subnet",
                "10.1.0.0/24",
                "--gateway",
                "10.0.0.1",
                "--gateway",
                "10.0.0.2",
            ],
            "cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/24)",
        ),
        (
            [
                "--subnet",
                "10.0.0.0/24",
                "--subnet",
                "10.1.0.0/24",
                "--ip-range",
                "10.0.0.0/25",
                "--ip-range",
                "10.0.0.128/25",
            ],
            "cannot configure multiple ranges (10.0.0.128/25, 10.0.0.0/25) on the same subnet (10.0.0.0/24)",
        ),
    ],
)
def test_create_ipam_flag_errors_are_the_docker_clis(argv: list[str], message: str) -> None:
    with pytest.raises(CliError) as ei:
        _body(*argv, "n1")
    assert str(ei.value) == message
    assert ei.value.status == (125 if message.startswith("invalid argument") else 1)


def test_ls_table_in_natural_name_order(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert go(fake, "network", "ls") == 0
    assert fake.targets() == ["GET /v1.41/networks"]
    assert capsys.readouterr().out == (
        "NETWORK ID     NAME        DRIVER    SCOPE\n"
        "051ddc6fb1e0   apic-net    bridge    local\n"
        "f1bf8e375c76   apic-net2   bridge    local\n"
        "0f95d5a3abe8   bridge      bridge    local\n"
        "61effc41a120   host        host      local\n"
        "0a73dfff5081   none        null      local\n"
    )


def test_ls_quiet_no_trunc_and_filters(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    go(fake, "network", "list", "-q", "--no-trunc", "-f", "driver=bridge", "--filter", "label=a")
    out = capsys.readouterr().out.splitlines()
    assert out[1] == NET2_ID and len(out) == 5
    target = fake.seen[0][1]
    assert target.startswith("/v1.41/networks?filters=")
    from urllib.parse import parse_qs, urlsplit

    assert json.loads(parse_qs(urlsplit(target).query)["filters"][0]) == {
        "driver": {"bridge": True},
        "label": {"a": True},
    }


def test_ls_formats(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    go(fake, "network", "ls", "--format", "{{.Name}} {{.Labels}} {{.IPv6}} {{.CreatedAt}}")
    assert (
        capsys.readouterr().out.splitlines()[1]
        == "apic-net2 a=b false 2026-11-27 21:06:10.917438217 +0000 UTC"
    )
    go(fake, "network", "ls", "--format", "json")
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert list(first) == [
        "CreatedAt",
        "Driver",
        "ID",
        "IPv4",
        "IPv6",
        "Internal",
        "Labels",
        "Name",
        "Scope",
    ]
    assert first["ID"] == "051ddc6fb1e0" and first["Name"] == "apic-net"
    go(fake, "network", "ls", "-q", "--format", "table {{.Name}}\t{{.Scope}}")
    assert capsys.readouterr().out.splitlines()[:2] == ["NAME        SCOPE", "apic-net    local"]


def test_go_time_trims_the_fraction() -> None:
    assert (
        network_ls.go_time("2026-11-27T21:04:53.890316400Z")
        == "2026-11-27 21:04:53.8903164 +0000 UTC"
    )
    assert network_ls.go_time("2026-11-27T21:04:53Z") == "2026-11-27 21:04:53 +0000 UTC"


def test_ls_bad_filter_flag_is_125(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert go(fake, "network", "ls", "-f", "dangling") == 125
    assert fake.seen == []
    assert "bad format of filter (expected name=value)" in capsys.readouterr().err


def test_inspect_array_template_verbose_and_missing(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert go(fake, "network", "inspect", "apic-net2") == 0
    assert fake.targets() == ["GET /v1.41/networks/apic-net2"]
    out = capsys.readouterr().out
    assert json.loads(out) == [NETWORKS[4]] and out.startswith(
        '[\n    {\n        "Name": "apic-net2"'
    )
    go(fake, "network", "inspect", "-v", "-f", "{{.Name}} {{.Driver}}", "apic-net2")
    assert fake.targets() == ["GET /v1.41/networks/apic-net2?verbose=true"]
    assert capsys.readouterr().out == "apic-net2 bridge\n"
    assert go(fake, "network", "inspect", "nosuch", "apic-net2") == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["Name"] == "apic-net2"
    assert captured.err == "Error response from daemon: network nosuch not found\n"


def test_rm_prints_each_and_reports_failures_in_turn(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert go(fake, "network", "rm", "apic-net2", "apic-net") == 0
    assert fake.targets() == ["DELETE /v1.41/networks/apic-net2", "DELETE /v1.41/networks/apic-net"]
    assert capsys.readouterr().out == "apic-net2\napic-net\n"
    assert go(fake, "network", "remove", "nosuch", "bridge", "apic-net") == 1
    captured = capsys.readouterr()
    assert captured.out == "apic-net\n"
    assert captured.err == (
        "Error response from daemon: network nosuch not found\n"
        "Error response from daemon: bridge is a pre-defined network and cannot be removed\n"
    )


def test_rm_force_passes_over_missing_networks_only(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert go(fake, "network", "rm", "-f", "nosuch", "apic-net") == 0
    assert capsys.readouterr() == ("apic-net\n", "")
    assert go(fake, "network", "rm", "-f", "bridge") == 1


def test_prune_asks_then_reports(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert go(fake, "network", "prune") == 0
    assert fake.seen == []
    assert capsys.readouterr().out == (
        "WARNING! This will remove all custom networks not used by at least one container.\n"
        "Are you sure you want to continue? [y/N] "
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert go(fake, "network", "prune", "--filter", "until=24h", "--filter", "label!=keep") == 0
    assert capsys.readouterr().out.endswith("[y/N] Deleted Networks:\napic-net\napic-net2\n\n")
    target = fake.seen[0][1]
    from urllib.parse import parse_qs, urlsplit

    assert urlsplit(target).path == "/v1.41/networks/prune"
    assert json.loads(parse_qs(urlsplit(target).query)["filters"][0]) == {
        "until": {"24h": True},
        "label!": {"keep": True},
    }


def test_prune_force_does_not_ask(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert go(fake, "network", "prune", "-f") == 0
    assert fake.targets() == ["POST /v1.41/networks/prune"]
    assert capsys.readouterr().out == "Deleted Networks:\napic-net\napic-net2\n\n"


def test_connect_sends_the_traced_body(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert go(fake, "network", "connect", "--alias", "web", "apic-net2", "apic-n") == 0
    assert fake.targets() == ["POST /v1.41/networks/apic-net2/connect"]
    assert fake.seen[0][2].decode() == TRACE_CONNECT
    assert capsys.readouterr().out == ""


def test_connect_addresses_links_and_driver_options() -> None:
    opts, _ = parse(
        ["--ip", "10.0.0.9", "--ip6", "fd00::9", "--link", "db:database", "--alias", "a1,a2",
         "--driver-opt", " k = v ", "--link-local-ip", "169.254.0.9", "n", "c"],
        network_connect.COMMAND.flags,
    )  # fmt: skip
    ep = network_connect.endpoint_config(opts)
    assert ep["IPAMConfig"] == {
        "IPv4Address": "10.0.0.9",
        "IPv6Address": "fd00::9",
        "LinkLocalIPs": ["169.254.0.9"],
    }
    assert (
        ep["Links"] == ["db:database"]
        and ep["Aliases"] == ["a1", "a2"]
        and ep["DriverOpts"] == {"k": "v"}
    )
    with pytest.raises(CliError, match=r"^invalid key/value pair format in driver options$"):
        network_connect.driver_opts(["novalue"])


def test_connect_error_and_argument_count(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert go(fake, "network", "connect", "nosuch", "apic-n") == 1
    assert capsys.readouterr().err == "Error response from daemon: network nosuch not found\n"
    assert go(fake, "network", "connect", "apic-net2") == 1
    assert "'berth network connect' requires exactly 2 arguments" in capsys.readouterr().err


def test_disconnect_sends_the_traced_body_and_force(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert go(fake, "network", "disconnect", "apic-net2", "apic-n") == 0
    assert fake.targets() == ["POST /v1.41/networks/apic-net2/disconnect"]
    assert fake.seen[0][2].decode() == TRACE_DISCONNECT
    go(fake, "network", "disconnect", "-f", "apic-net2", "apic-n")
    assert bodies(fake) == [{"Container": "apic-n", "Force": True}]
    assert capsys.readouterr().out == ""


def test_create_gateway_must_be_an_address_and_ranges_name_their_network() -> None:
    with pytest.raises(CliError) as ei:
        _body("--subnet", "10.0.0.0/24", "--gateway", "nonsense", "n1")
    assert ei.value.status == 125
    assert str(ei.value) == (
        'invalid argument "nonsense" for "--gateway" flag: invalid string being converted to IP address: nonsense'
    )
    body = _body("--subnet", "10.0.0.0/24", "--ip-range", "10.0.0.130/25", "n1")
    assert body["IPAM"]["Config"] == [{"Subnet": "10.0.0.0/24", "IPRange": "10.0.0.128/25"}]


def test_create_ipv4_is_sent_only_when_given_and_needs_api_1_47(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "EnableIPv4" not in _body("n1")
    assert _body("--ipv4=false", "n1")["EnableIPv4"] is False
    assert go(fake, "network", "create", "--ipv4=false", "n1") == 1
    assert capsys.readouterr().err == (
        '"--ipv4" requires API version 1.47, but the Docker daemon API version is 1.41\n'
    )
    assert "POST /v1.41/networks/create" not in fake.targets()
