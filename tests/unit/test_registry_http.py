"""Accept and Content-Type selection, endpoints, insecure registries, mirrors."""

import ssl

from berth.oci import mediatypes as mt
from berth.registry import RegistryHosts
from berth.registry._common import media_type_of as _media_type
from berth.registry._common import with_query as _with_query


class _Resp:
    def __init__(self, ct: str) -> None:
        self.ct = ct

    def header(self, name: str) -> str:
        return self.ct if name == "Content-Type" else ""


def test_accept_lists_indexes_before_manifests_and_no_schema1():
    accept = list(mt.ACCEPT_MANIFESTS)
    assert accept.index(mt.OCI_INDEX) < accept.index(mt.OCI_MANIFEST)
    assert accept.index(mt.DOCKER_MANIFEST_LIST) < accept.index(mt.DOCKER_MANIFEST)
    assert not any(mt.is_schema1(a) for a in accept)


def test_content_type_parameters_and_generic_types_are_ignored():
    assert _media_type(_Resp(mt.DOCKER_MANIFEST)) == mt.DOCKER_MANIFEST  # type: ignore[arg-type]
    assert _media_type(_Resp(mt.OCI_INDEX + "; charset=utf-8")) == mt.OCI_INDEX  # type: ignore[arg-type]
    assert _media_type(_Resp("application/json; charset=utf-8")) is None  # type: ignore[arg-type]
    assert _media_type(_Resp("")) is None  # type: ignore[arg-type]


def test_upload_location_keeps_its_state_query():
    loc = "http://r:5000/v2/a/blobs/uploads/u?_state=abc"
    assert _with_query(loc, {"digest": "sha256:1"}) == loc + "&digest=sha256%3A1"
    assert _with_query("/v2/a/blobs/uploads/u", {"digest": "d"}) == "/v2/a/blobs/uploads/u?digest=d"


def test_loopback_is_insecure_by_default_and_lists_are_honoured():
    h = RegistryHosts()
    assert h.is_insecure("127.0.0.1:5000")
    assert h.is_insecure("localhost:5000")
    assert not h.is_insecure("registry.example.com")
    h = RegistryHosts(insecure=["10.0.0.0/8", "myreg:5000", "http://other"])
    assert h.is_insecure("10.1.2.3:443")
    assert h.is_insecure("myreg:5000") and not h.is_insecure("myreg:5001")
    assert h.is_insecure("other:1")
    assert not h.is_insecure("127.0.0.1:5000")


def test_docker_hub_goes_through_mirrors_for_pulls_only(tmp_path):
    h = RegistryHosts(
        mirrors=["https://mirror.example", "m2.example:5000"], certs_dir=str(tmp_path)
    )
    assert [(e.host, e.mirror) for e in h.endpoints("docker.io")] == [
        ("mirror.example", True),
        ("m2.example:5000", True),
        ("registry-1.docker.io", False),
    ]
    assert [e.host for e in h.endpoints("docker.io", push=True)] == ["registry-1.docker.io"]
    assert [e.host for e in h.endpoints("quay.io")] == ["quay.io"]


def test_tls_context_verifies_unless_insecure(tmp_path):
    h = RegistryHosts(certs_dir=str(tmp_path))
    assert h.endpoint("reg.example:443").tls.verify_mode == ssl.CERT_REQUIRED  # type: ignore[union-attr]
    ep = h.endpoint("127.0.0.1:5000")
    assert not ep.secure
    assert ep.tls.verify_mode == ssl.CERT_NONE  # type: ignore[union-attr]
    assert (ep.hostname, ep.port) == ("127.0.0.1", 5000)
    assert (h.endpoint("[::1]:5000").hostname, h.endpoint("[::1]:5000").port) == ("::1", 5000)
