"""Network routes over a fake backend: dockerd's wire shapes (the recorded traces), the
create/connect bodies as the docker CLI sends them, filters, statuses and messages."""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from berth import errdefs
from berth.api import networks
from berth.api.router import Router
from berth.engine.networks.model import EndpointView, Network

from .helpers import exchange, serve

NET2 = Network(
    id="f1bf8e375c76fbfe790b61950fef6bc9fd1e7d6007ee565541eec02934a09942",
    name="apic-net2",
    driver="bridge",
    created="2026-11-27T21:06:10.917438217Z",
    ipam_config=[{"Subnet": "10.219.5.0/24"}],
    labels={"a": "b"},
)
NONE = Network(
    id="0a73dfff508104879624bfff842dadc4465ee421b8ad0de1a1c5a5aa06dee790",
    name="none",
    driver="null",
    created="2026-11-27T20:58:38.956681412Z",
)
USED = Network(id="b" * 64, name="used", driver="bridge", created="2026-11-27T21:00:00Z")
EP = EndpointView("apic-n", "e" * 64, "02:42:0a:db:05:02", "10.219.5.2/24", "")

# dockerd 20.10's answer to GET /networks/apic-net2 (network_inspect.txt)
TRACE_INSPECT = (
    b'{"Name":"apic-net2","Id":"f1bf8e375c76fbfe790b61950fef6bc9fd1e7d6007ee565541eec02934a09942",'
    b'"Created":"2026-11-27T21:06:10.917438217Z","Scope":"local","Driver":"bridge","EnableIPv6":false,'
    b'"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.219.5.0/24"}]},"Internal":false,'
    b'"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},'
    b'"Options":{},"Labels":{"a":"b"}}'
)


class FakeNetworks:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.networks = [NONE, NET2, USED]

    async def create(
        self,
        name: str,
        *,
        driver: str,
        options: Mapping[str, str],
        ipam_driver: str,
        ipam_options: Mapping[str, str],
        ipam_config: Sequence[Mapping[str, Any]],
        internal: bool,
        attachable: bool,
        enable_ipv6: bool,
        labels: Mapping[str, str],
    ) -> tuple[Network, str]:
        self.calls.append(
            ("create", name, driver, options, ipam_driver, ipam_options, ipam_config,
             internal, attachable, enable_ipv6, labels)
        )  # fmt: skip
        if name == "apic-net2":
            raise errdefs.Conflict("network with name apic-net2 already exists")
        return Network(id="9" * 64, name=name, driver=driver, created="2026-11-27T21:06:10Z"), ""

    async def list(self) -> builtins.list[Network]:
        return list(self.networks)

    async def get(self, ref: str) -> Network:
        for n in self.networks:
            if ref in (n.id, n.name) or n.id.startswith(ref):
                return n
        raise errdefs.NotFound(f"network {ref} not found")

    async def endpoints(self, network: Network) -> dict[str, EndpointView]:
        return {"c" * 64: EP} if network.name == "used" else {}

    async def in_use(self, network: Network) -> bool:
        return network.name == "used"

    async def remove(self, ref: str) -> None:
        self.calls.append(("remove", ref))
        n = await self.get(ref)
        if n.name == "used":
            raise errdefs.Conflict(
                "error while removing network: network used id bbbb has active endpoints"
            )

    async def prune(self, filters: Mapping[str, Sequence[str]]) -> builtins.list[str]:
        self.calls.append(("prune", dict(filters)))
        return ["apic-net2"] if filters.get("label") else []

    async def connect(
        self,
        ref: str,
        container: str,
        *,
        aliases: Sequence[str],
        ipv4: str,
        ipv6: str,
        links: Sequence[str],
        driver_opts: Mapping[str, str],
        mac: str,
    ) -> None:
        self.calls.append(("connect", ref, container, aliases, ipv4, ipv6, links, driver_opts, mac))

    async def disconnect(self, ref: str, container: str, force: bool) -> None:
        self.calls.append(("disconnect", ref, container, force))


@pytest.fixture(scope="module")
def backend() -> FakeNetworks:
    return FakeNetworks()


@pytest.fixture(scope="module")
def sock(backend: FakeNetworks) -> Iterator[str]:
    typed: networks.NetworksBackend = backend  # the fake satisfies the Protocol
    r = Router()
    networks.register(r, typed)
    with serve(r) as path:
        yield path


def call(sock: str, method: str, target: str, body: bytes = b"") -> tuple[str, bytes]:
    extra = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else ""
    out = exchange(
        sock,
        f"{method} {target} HTTP/1.1\r\nHost: docker\r\n{extra}Connection: close\r\n\r\n".encode()
        + body,
    )
    head, _, rest = out.partition(b"\r\n\r\n")
    return head.decode(), rest


def message(body: bytes) -> str:
    return str(json.loads(body)["message"])


def test_inspect_is_byte_for_byte_dockerds(sock: str) -> None:
    head, body = call(sock, "GET", "/v1.41/networks/apic-net2")
    assert head.startswith("HTTP/1.1 200")
    assert body.rstrip(b"\n") == TRACE_INSPECT


def test_inspect_fills_containers_from_the_endpoints(sock: str) -> None:
    _, body = call(sock, "GET", "/v1.41/networks/used?verbose=false")
    assert json.loads(body)["Containers"] == {
        "c" * 64: {
            "Name": "apic-n",
            "EndpointID": "e" * 64,
            "MacAddress": "02:42:0a:db:05:02",
            "IPv4Address": "10.219.5.2/24",
            "IPv6Address": "",
        }
    }


def test_inspect_by_id_prefix_unknown_and_scope(sock: str) -> None:
    _, body = call(sock, "GET", "/networks/f1bf8e37")
    assert json.loads(body)["Name"] == "apic-net2"
    head, body = call(sock, "GET", "/v1.41/networks/nosuch")
    assert head.startswith("HTTP/1.1 404") and message(body) == "network nosuch not found"
    head, body = call(sock, "GET", "/networks/apic-net2?scope=swarm")
    assert head.startswith("HTTP/1.1 404") and message(body) == "network apic-net2 not found"
    head, _ = call(sock, "GET", "/networks/apic-net2?scope=local&verbose=true")
    assert head.startswith("HTTP/1.1 200")


def test_inspect_refuses_a_verbose_that_is_not_a_go_bool(sock: str) -> None:
    head, body = call(sock, "GET", "/networks/apic-net2?verbose=yes")
    assert head.startswith("HTTP/1.1 400")
    assert (
        message(body)
        == 'invalid value for verbose: yes: strconv.ParseBool: parsing "yes": invalid syntax'
    )


def test_list_has_empty_containers_even_for_used_networks(sock: str) -> None:
    head, body = call(sock, "GET", "/v1.41/networks")
    assert head.startswith("HTTP/1.1 200")
    docs = json.loads(body)
    assert [d["Name"] for d in docs] == ["none", "apic-net2", "used"]
    assert all(d["Containers"] == {} for d in docs)
    assert list(docs[0]) == [
        "Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal", "Attachable",
        "Ingress", "ConfigFrom", "ConfigOnly", "Containers", "Options", "Labels",
    ]  # fmt: skip


def test_list_filters(sock: str) -> None:
    def listed(filters: str) -> list[str]:
        _, body = call(sock, "GET", "/networks?filters=" + filters)
        return [d["Name"] for d in json.loads(body)]

    assert listed('{"dangling":{"true":true}}') == ["apic-net2"]
    assert listed('{"dangling":["false"]}') == ["none", "used"]
    assert listed('{"type":{"custom":true},"label":{"a=b":true}}') == ["apic-net2"]
    assert listed('{"name":{"net":true}}') == ["apic-net2"]


@pytest.mark.parametrize(
    ("filters", "text"),
    [
        ('{"until":{"1h":true}}', "invalid filter 'until'"),
        ('{"type":{"foo":true}}', "invalid filter: 'type'='foo'"),
        ('{"dangling":{"maybe":true}}', "invalid value for filter 'dangling'"),
    ],
)
def test_list_bad_filters_are_400(sock: str, filters: str, text: str) -> None:
    head, body = call(sock, "GET", "/networks?filters=" + filters)
    assert head.startswith("HTTP/1.1 400") and message(body).startswith(text)


def test_create_maps_the_docker_cli_body(sock: str, backend: FakeNetworks) -> None:
    # network_create.txt, plus gateway, ranges, aux addresses, options and flags
    doc = {
        "Driver": "bridge", "Scope": "", "EnableIPv6": True,
        "IPAM": {"Driver": "default", "Options": {"o": "p"}, "Config": [
            {"Subnet": "10.219.5.0/24", "IPRange": "10.219.5.128/25", "Gateway": "10.219.5.1",
             "AuxiliaryAddresses": {"host1": "10.219.5.5"}},
            {"Subnet": "fd00::/64"},
        ]},
        "Internal": True, "Attachable": True, "Ingress": False, "ConfigOnly": False, "ConfigFrom": None,
        "Options": {"com.docker.network.driver.mtu": "1400"}, "Labels": {"a": "b"}, "Name": "apic-net3",
        "CheckDuplicate": True,
    }  # fmt: skip
    head, body = call(sock, "POST", "/v1.41/networks/create", json.dumps(doc).encode())
    assert head.startswith("HTTP/1.1 201")
    assert body == b'{"Id":"' + b"9" * 64 + b'","Warning":""}\n'
    assert backend.calls[-1] == (
        "create", "apic-net3", "bridge", {"com.docker.network.driver.mtu": "1400"}, "default", {"o": "p"},
        [{"Subnet": "10.219.5.0/24", "IPRange": "10.219.5.128/25", "Gateway": "10.219.5.1",
          "AuxiliaryAddresses": {"host1": "10.219.5.5"}}, {"Subnet": "fd00::/64"}],
        True, True, True, {"a": "b"},
    )  # fmt: skip


def test_create_defaults_from_a_minimal_body(sock: str, backend: FakeNetworks) -> None:
    head, _ = call(sock, "POST", "/networks/create", b'{"Name":"mini"}')
    assert head.startswith("HTTP/1.1 201")
    assert backend.calls[-1] == (
        "create",
        "mini",
        "bridge",
        {},
        "default",
        {},
        [],
        False,
        False,
        False,
        {},
    )


def test_create_duplicate_is_the_backends_conflict(sock: str) -> None:
    head, body = call(
        sock, "POST", "/networks/create", b'{"Name":"apic-net2","CheckDuplicate":true}'
    )
    assert (
        head.startswith("HTTP/1.1 409")
        and message(body) == "network with name apic-net2 already exists"
    )


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        (b'{"Driver":"bridge"}', 400, "invalid name: "),
        (b'{"Name":"  "}', 400, "invalid name:   "),
        (b'{"Name":"x","Labels":{"a":1}}', 400, "invalid Labels: expected an object of strings"),
        (b'{"Name":"x","Internal":"yes"}', 400, "invalid Internal: expected a boolean"),
        (b'{"Name":"x","IPAM":{"Config":{}}}', 400, "invalid IPAM.Config: expected a list"),
        (
            b'{"Name":"x","IPAM":{"Config":[{"Subnet":5}]}}',
            400,
            "invalid Subnet: expected a string",
        ),
        (b"[1]", 400, "invalid network create request: expected a JSON object"),
        (
            b'{"Name":"x","Ingress":true}',
            501,
            "ingress networks are not supported: berth has no swarm mode",
        ),
        (b'{"Name":"x","ConfigOnly":true}', 501, "config-only networks are not supported"),
        (
            b'{"Name":"x","ConfigFrom":{"Network":"y"}}',
            501,
            "config-only networks are not supported",
        ),
        (
            b'{"Name":"x","Scope":"swarm"}',
            501,
            "network scope 'swarm' is not supported: berth networks are local",
        ),
    ],
)
def test_create_refusals(sock: str, body: bytes, status: int, text: str) -> None:
    head, out = call(sock, "POST", "/networks/create", body)
    assert head.startswith(f"HTTP/1.1 {status}") and message(out) == text


def test_delete_is_204_and_errors_pass_through(sock: str, backend: FakeNetworks) -> None:
    head, body = call(sock, "DELETE", "/v1.41/networks/apic-net2")
    assert head.startswith("HTTP/1.1 204") and body == b""
    assert backend.calls[-1] == ("remove", "apic-net2")
    head, body = call(sock, "DELETE", "/v1.41/networks/used")
    assert head.startswith("HTTP/1.1 409") and "has active endpoints" in message(body)
    head, _ = call(sock, "DELETE", "/v1.41/networks/nosuch")
    assert head.startswith("HTTP/1.1 404")


def test_prune_reports_null_when_nothing_went(sock: str) -> None:
    head, body = call(sock, "POST", "/v1.41/networks/prune")
    assert head.startswith("HTTP/1.1 200") and body == b'{"NetworksDeleted":null}\n'
    _, body = call(sock, "POST", '/v1.41/networks/prune?filters={"label":{"a=b":true}}')
    assert body == b'{"NetworksDeleted":["apic-net2"]}\n'


def test_prune_resolves_until_to_a_cutoff_in_ns(sock: str, backend: FakeNetworks) -> None:
    before = time.time_ns()
    call(sock, "POST", '/networks/prune?filters={"until":{"10m":true},"label!":{"keep":true}}')
    _, filters = backend.calls[-1]
    assert filters["label!"] == ["keep"]
    cutoff = int(filters["until"][0])
    assert before - 600 * 10**9 - 10**9 < cutoff <= time.time_ns() - 600 * 10**9
    call(sock, "POST", '/networks/prune?filters={"until":{"2026-11-27T21:00:00Z":true}}')
    assert backend.calls[-1][1]["until"] == ["1795813200000000000"]


@pytest.mark.parametrize(
    ("filters", "text"),
    [
        ('{"dangling":{"true":true}}', "invalid filter 'dangling'"),
        ('{"until":{"1h":true,"2h":true}}', "more than one until filter specified"),
        ('{"until":{"yesterday":true}}', "invalid value for until filter: yesterday"),
    ],
)
def test_prune_bad_filters_are_400_before_anything_is_removed(
    sock: str, backend: FakeNetworks, filters: str, text: str
) -> None:
    n = len(backend.calls)
    head, body = call(sock, "POST", "/networks/prune?filters=" + filters)
    assert head.startswith("HTTP/1.1 400") and message(body) == text
    assert len(backend.calls) == n


def test_connect_maps_the_docker_cli_body(sock: str, backend: FakeNetworks) -> None:
    # network_connect.txt, plus an address, links, driver options and a MAC
    body = (
        b'{"Container":"apic-n","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.219.5.9","IPv6Address":"fd00::9"},'
        b'"Links":["db:database"],"Aliases":["web"],"MacAddress":"02:42:00:00:00:09","DriverOpts":{"k":"v"},'
        b'"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,'
        b'"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}'
    )
    head, out = call(sock, "POST", "/v1.41/networks/apic-net2/connect", body)
    assert head.startswith("HTTP/1.1 200") and out == b""
    assert "Content-Length: 0" in head
    assert backend.calls[-1] == (
        "connect", "apic-net2", "apic-n", ["web"], "10.219.5.9", "fd00::9", ["db:database"], {"k": "v"},
        "02:42:00:00:00:09",
    )  # fmt: skip


def test_connect_with_null_endpoint_config(sock: str, backend: FakeNetworks) -> None:
    head, _ = call(
        sock, "POST", "/networks/apic-net2/connect", b'{"Container":"c1","EndpointConfig":null}'
    )
    assert head.startswith("HTTP/1.1 200")
    assert backend.calls[-1] == ("connect", "apic-net2", "c1", [], "", "", [], {}, "")


def test_disconnect(sock: str, backend: FakeNetworks) -> None:
    head, out = call(
        sock,
        "POST",
        "/v1.41/networks/apic-net2/disconnect",
        b'{"Container":"apic-n","Force":false}',
    )
    assert head.startswith("HTTP/1.1 200") and out == b""
    assert backend.calls[-1] == ("disconnect", "apic-net2", "apic-n", False)
    call(sock, "POST", "/networks/apic-net2/disconnect", b'{"Container":"apic-n","Force":true}')
    assert backend.calls[-1] == ("disconnect", "apic-net2", "apic-n", True)


def test_wire_of_a_builtin_network_matches_the_list_trace() -> None:
    assert networks.network_wire(NONE) == {
        "Name": "none", "Id": NONE.id, "Created": "2026-11-27T20:58:38.956681412Z", "Scope": "local",
        "Driver": "null", "EnableIPv6": False, "IPAM": {"Driver": "default", "Options": {}, "Config": []},
        "Internal": False, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
        "ConfigOnly": False, "Containers": {}, "Options": {}, "Labels": {},
    }  # fmt: skip
