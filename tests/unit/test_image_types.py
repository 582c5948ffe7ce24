import hashlib
import json

import pytest

from berth import errdefs
from berth.errdefs import InvalidArgument, NotFound
from berth.oci import mediatypes as mt
from berth.oci.digest import Digest, sha256_of
from berth.oci.image import (
    Descriptor,
    History,
    Image,
    ImageConfig,
    Index,
    Manifest,
    RootFS,
    canonical_json,
    chain_id,
    chain_ids,
    digest_of,
    parse_descriptor,
    parse_image,
    parse_index,
    parse_manifest,
    parse_manifest_or_index,
    select_manifest,
)
from berth.oci.platform import (
    Platform,
    default_platform,
    format_platform,
    matches,
    normalize,
    parse_platform,
)

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64

DOCKER_MANIFEST = {
    "schemaVersion": 2,
    "mediaType": mt.DOCKER_MANIFEST,
    "config": {"mediaType": mt.DOCKER_CONFIG, "size": 1469, "digest": D1},
    "layers": [
        {"mediaType": mt.DOCKER_LAYER_GZIP, "size": 2811478, "digest": D2},
        {"mediaType": mt.DOCKER_FOREIGN_LAYER_GZIP, "size": 10, "digest": D3,
         "urls": ["https://example.com/layer"]},
    ],
}  # fmt: skip

OCI_MANIFEST = {
    "schemaVersion": 2,
    "mediaType": mt.OCI_MANIFEST,
    "config": {"mediaType": mt.OCI_CONFIG, "size": 7023, "digest": D1},
    "layers": [{"mediaType": mt.OCI_LAYER_ZSTD, "size": 32654, "digest": D2}],
    "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
}


def _entry(digest, arch, variant=None, os_="linux", media=mt.OCI_MANIFEST):
    p = {"architecture": arch, "os": os_}
    if variant:
        p["variant"] = variant
    return {"mediaType": media, "digest": digest, "size": 100, "platform": p}


def _index(*entries, media=mt.OCI_INDEX):
    return {"schemaVersion": 2, "mediaType": media, "manifests": list(entries)}


def test_docker_schema2_manifest():
    m = parse_manifest(json.dumps(DOCKER_MANIFEST).encode(), mt.DOCKER_MANIFEST)
    assert m.media_type == mt.DOCKER_MANIFEST
    assert m.config == Descriptor(mt.DOCKER_CONFIG, Digest(D1), 1469)
    assert [layer.digest for layer in m.layers] == [D2, D3]
    assert m.layers[1].urls == ("https://example.com/layer",)
    assert mt.layer_compression(m.layers[0].media_type) == "gzip"


def test_oci_manifest_with_and_without_media_type():
    m = parse_manifest(OCI_MANIFEST)
    assert m.media_type == mt.OCI_MANIFEST
    assert m.annotations == {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
    assert mt.layer_compression(m.layers[0].media_type) == "zstd"
    bare = {k: v for k, v in OCI_MANIFEST.items() if k != "mediaType"}
    assert parse_manifest(bare, mt.OCI_MANIFEST).media_type == mt.OCI_MANIFEST
    assert isinstance(parse_manifest_or_index(bare), Manifest)


def test_manifest_round_trips_through_to_dict():
    m = parse_manifest(OCI_MANIFEST)
    assert parse_manifest(m.to_dict()) == m
    assert m.to_dict() == OCI_MANIFEST


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["layers"][1].update(digest="sha256:xyz"), r"^manifest: layers\[1\]\.digest: invalid checksum digest"),
        (lambda d: d["layers"][0].update(size="12"), r"^manifest: layers\[0\]\.size: must be an integer, got string$"),
        (lambda d: d["layers"][0].update(size=-1), r"^manifest: layers\[0\]\.size: must not be negative"),
        (lambda d: d["layers"][0].pop("mediaType"), r"^manifest: layers\[0\]\.mediaType: is required$"),
        (lambda d: d.pop("config"), r"^manifest: config: is required$"),
        (lambda d: d.update(config=[]), r"^manifest: config: must be an object, got array$"),
        (lambda d: d.update(layers={}), r"^manifest: layers: must be an array, got object$"),
        (lambda d: d.update(schemaVersion=3), r"^manifest: schemaVersion: must be 2, got 3$"),
        (lambda d: d.pop("schemaVersion"), r"^manifest: schemaVersion: is required$"),
        (lambda d: d["config"].update(digest="sha512:" + "a" * 128), r"^manifest: config\.digest: unsupported digest algorithm: sha512$"),
        (lambda d: d.update(annotations={"a": 1}), r"^manifest: annotations\['a'\]: must be a string, got number$"),
    ],
)  # fmt: skip
def test_manifest_errors_name_the_field(mutate, message):
    doc = json.loads(json.dumps(DOCKER_MANIFEST))
    mutate(doc)
    with pytest.raises(InvalidArgument, match=message):
        parse_manifest(doc)


def test_manifest_media_type_must_agree_with_the_header():
    with pytest.raises(InvalidArgument, match=r"mediaType: should be .*oci.* not .*docker"):
        parse_manifest(DOCKER_MANIFEST, mt.OCI_MANIFEST)


def test_invalid_json_is_invalid_argument():
    with pytest.raises(InvalidArgument, match=r"^manifest: invalid JSON"):
        parse_manifest(b"{nope")
    with pytest.raises(InvalidArgument, match=r"^manifest: must be an object, got array"):
        parse_manifest(b"[]")


def test_schema1_is_refused_clearly():
    schema1 = {"schemaVersion": 1, "name": "x", "tag": "latest", "fsLayers": []}
    with pytest.raises(errdefs.NotImplemented, match="schema 1"):
        parse_manifest_or_index(schema1)
    with pytest.raises(errdefs.NotImplemented, match="schema 1"):
        parse_manifest_or_index(schema1, mt.DOCKER_SCHEMA1_SIGNED_MANIFEST)
    with pytest.raises(errdefs.NotImplemented, match="schema 1"):
        parse_manifest({**DOCKER_MANIFEST, "schemaVersion": 1})


def test_index_and_manifest_list():
    doc = _index(_entry(D1, "amd64"), _entry(D2, "arm64", "v8"), media=mt.DOCKER_MANIFEST_LIST)
    idx = parse_manifest_or_index(doc)
    assert isinstance(idx, Index)
    assert idx.media_type == mt.DOCKER_MANIFEST_LIST
    assert idx.manifests[1].platform == Platform("linux", "arm64", "v8")
    assert parse_index(idx.to_dict()) == idx
    bad = _index({"mediaType": mt.OCI_MANIFEST, "digest": D1, "size": 1, "platform": {"os": "linux"}})
    with pytest.raises(InvalidArgument, match=r"^index: manifests\[0\]\.platform\.architecture: is required$"):
        parse_index(bad)


def test_unknown_media_type_is_refused():
    with pytest.raises(InvalidArgument, match="unsupported media type"):
        parse_manifest_or_index({"schemaVersion": 2, "mediaType": "text/plain"})
    with pytest.raises(InvalidArgument, match="neither a manifest nor an index"):
        parse_manifest_or_index({"schemaVersion": 2})


# -- platforms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "want"),
    [
        (Platform("Linux", "x86_64"), Platform("linux", "amd64")),
        (Platform("linux", "x86-64", "v1"), Platform("linux", "amd64")),
        (Platform("linux", "aarch64", "v8"), Platform("linux", "arm64")),
        (Platform("linux", "arm64", "8"), Platform("linux", "arm64")),
        (Platform("linux", "arm"), Platform("linux", "arm", "v7")),
        (Platform("linux", "armhf"), Platform("linux", "arm", "v7")),
        (Platform("linux", "armel"), Platform("linux", "arm", "v6")),
        (Platform("linux", "i386"), Platform("linux", "386")),
        (Platform("macos", "arm64"), Platform("darwin", "arm64")),
    ],
)
def test_normalize(given, want):
    assert normalize(given) == want


def test_default_platform_and_parse():
    assert default_platform("x86_64") == Platform("linux", "amd64")
    assert format_platform(default_platform("aarch64")) == "linux/arm64/v8"
    assert parse_platform("linux/arm64", "x86_64") == Platform("linux", "arm64")
    assert parse_platform("linux/arm64/v8") == Platform("linux", "arm64", "v8")
    assert parse_platform("linux/arm/v7") == Platform("linux", "arm", "v7")
    assert parse_platform("linux/arm") == Platform("linux", "arm")
    assert parse_platform("arm64", "x86_64") == Platform("linux", "arm64")
    assert parse_platform("linux", "aarch64") == Platform("linux", "arm64", "v8")
    for bad in ("", "linux/*", "a/b/c/d", "plan10"):
        with pytest.raises(InvalidArgument):
            parse_platform(bad)


def test_arm64_with_and_without_v8_match():
    assert matches(Platform("linux", "arm64", "v8"), Platform("linux", "arm64"))
    assert matches(Platform("linux", "arm64"), Platform("linux", "arm64", "v8"))
    assert not matches(Platform("linux", "arm64"), Platform("linux", "amd64"))
    assert not matches(Platform("linux", "amd64"), Platform("windows", "amd64"))


def _pick(want, *entries):
    return select_manifest(parse_index(_index(*entries)), want).digest


def test_select_the_exact_platform():
    entries = (_entry(D1, "amd64"), _entry(D2, "arm64", "v8"), _entry(D3, "arm", "v7"))
    assert _pick(default_platform("x86_64"), *entries) == D1
    assert _pick(default_platform("aarch64"), *entries) == D2
    assert _pick(Platform("linux", "arm64"), *entries) == D2
    assert _pick(parse_platform("linux/arm/v7"), *entries) == D3


def test_select_falls_back_to_a_compatible_variant():
    # arm/v7 hosts run v6 and v5; arm64 hosts run 32-bit arm; amd64 runs 386.
    assert _pick(Platform("linux", "arm", "v7"), _entry(D1, "arm", "v5"), _entry(D2, "arm", "v6")) == D2
    assert _pick(Platform("linux", "arm64"), _entry(D1, "arm", "v7"), _entry(D2, "amd64")) == D1
    assert _pick(Platform("linux", "amd64", "v3"), _entry(D1, "amd64"), _entry(D2, "386")) == D1
    assert _pick(Platform("linux", "amd64"), _entry(D2, "386")) == D2


def test_select_prefers_exact_over_fallback_whatever_the_order():
    assert _pick(Platform("linux", "arm", "v7"), _entry(D1, "arm", "v6"), _entry(D2, "arm", "v7")) == D2


def test_select_skips_attestations_and_refuses_with_dockers_message():
    attestation = _entry(D2, "unknown", os_="unknown")
    assert _pick(Platform("linux", "amd64"), attestation, _entry(D1, "amd64")) == D1
    with pytest.raises(NotFound, match=r"^no matching manifest for linux/s390x in the manifest list entries$"):
        _pick(Platform("linux", "s390x"), attestation, _entry(D1, "amd64"))


def test_an_entry_without_platform_matches_last():
    no_platform = {"mediaType": mt.OCI_MANIFEST, "digest": D3, "size": 1}
    assert _pick(Platform("linux", "amd64"), no_platform, _entry(D1, "amd64")) == D1
    assert _pick(Platform("linux", "s390x"), no_platform, _entry(D1, "amd64")) == D3


# -- image config ----------------------------------------------------------------------

DOCKER_CONFIG = {
    "architecture": "amd64",
    "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["sh"],
        "ExposedPorts": {"80/tcp": {}, "443/tcp": {}},
        "Volumes": {"/data": {}},
        "WorkingDir": "/",
        "Labels": {"b": "2", "a": "1"},
        "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1000000000},
        "OnBuild": None,
        "ArgsEscaped": True,
    },
    "created": "2023-05-19T20:19:23.739184016Z",
    "history": [
        {"created": "2023-05-19T20:19:23Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
        {"created": "2023-05-19T20:19:23Z", "created_by": '/bin/sh -c #(nop)  CMD ["sh"]', "empty_layer": True},
    ],
    "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [D1]},
    "container_config": {"Hostname": "x"},
    "docker_version": "20.10.23",
}


def test_image_config_parses_docker_fields():
    img = parse_image(json.dumps(DOCKER_CONFIG))
    assert img.platform == Platform("linux", "amd64")
    assert img.config.cmd == ("sh",)
    assert img.config.entrypoint is None
    assert img.config.exposed_ports == ("443/tcp", "80/tcp")
    assert img.config.volumes == ("/data",)
    assert img.config.labels == {"a": "1", "b": "2"}
    assert img.config.healthcheck == {"Test": ["CMD", "true"], "Interval": 1000000000}
    assert img.config.on_build is None
    assert img.config.args_escaped is True
    assert img.rootfs.diff_ids == (D1,)
    assert img.history[1].empty_layer
    assert img.chain_ids() == [D1]


def test_empty_cmd_and_missing_cmd_differ():
    base = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    assert parse_image({**base, "config": {"Cmd": []}}).config.cmd == ()
    assert parse_image({**base, "config": {}}).config.cmd is None
    assert parse_image(base).config == ImageConfig()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["rootfs"]["diff_ids"].append("sha256:zz"), r"^image config: rootfs\.diff_ids\[1\]: invalid checksum digest"),
        (lambda d: d["rootfs"].update(type="other"), r"^image config: rootfs\.type: must be 'layers'"),
        (lambda d: d.pop("rootfs"), r"^image config: rootfs: is required$"),
        (lambda d: d.pop("os"), r"^image config: os: is required$"),
        (lambda d: d["config"].update(Env="A=1"), r"^image config: config\.Env: must be an array of strings, got string$"),
        (lambda d: d["config"].update(Cmd=["sh", 1]), r"^image config: config\.Cmd\[1\]: must be a string, got number$"),
        (lambda d: d["history"][0].update(empty_layer="yes"), r"^image config: history\[0\]\.empty_layer: must be a boolean"),
    ],
)  # fmt: skip
def test_image_config_errors_name_the_field(mutate, message):
    doc = json.loads(json.dumps(DOCKER_CONFIG))
    mutate(doc)
    with pytest.raises(InvalidArgument, match=message):
        parse_image(doc)


def test_image_config_written_in_spec_order_and_parsed_back():
    img = Image(
        architecture="arm64",
        os="linux",
        variant="v8",
        created="2024-01-01T00:00:00Z",
        config=ImageConfig(env=("A=1",), entrypoint=("/bin/app",), cmd=(), labels={"z": "1", "a": "<&>"}),
        rootfs=RootFS("layers", (Digest(D1), Digest(D2))),
        history=(History(created_by="import"), History(created_by="step"),),
    )
    data = canonical_json(img.to_dict())
    assert list(json.loads(data)) == ["created", "architecture", "os", "variant", "config", "rootfs", "history"]
    assert b'"Labels":{"a":"\\u003c\\u0026\\u003e","z":"1"}' in data
    assert b" " not in data
    assert parse_image(data) == img
    assert digest_of(img) == sha256_of(data)


def test_parse_descriptor():
    d = parse_descriptor({"mediaType": mt.OCI_MANIFEST, "digest": D1, "size": 3,
                          "annotations": {"org.opencontainers.image.ref.name": "latest"}})  # fmt: skip
    assert d.annotations["org.opencontainers.image.ref.name"] == "latest"
    with pytest.raises(InvalidArgument, match=r"^descriptor: size: is required$"):
        parse_descriptor({"mediaType": mt.OCI_MANIFEST, "digest": D1})


# -- chain ids -------------------------------------------------------------------------


def test_chain_id_follows_the_image_spec():
    # config.md#layer-chainid: ChainID(A|B) = Digest(ChainID(A) + " " + DiffID(B))
    ab = "sha256:" + hashlib.sha256(f"{D1} {D2}".encode()).hexdigest()
    abc = "sha256:" + hashlib.sha256(f"{ab} {D3}".encode()).hexdigest()
    assert chain_id([D1]) == D1
    assert chain_id([D1, D2]) == ab
    assert chain_ids([D1, D2, D3]) == [D1, ab, abc]
    with pytest.raises(InvalidArgument):
        chain_id([])
    with pytest.raises(InvalidArgument):
        chain_id(["sha256:nope"])


def test_media_type_helpers():
    assert mt.is_index(mt.DOCKER_MANIFEST_LIST) and mt.is_index(mt.OCI_INDEX)
    assert mt.is_manifest(mt.DOCKER_MANIFEST) and not mt.is_manifest(mt.OCI_INDEX)
    assert mt.is_config(mt.DOCKER_CONFIG) and mt.is_config(mt.OCI_CONFIG)
    assert mt.is_layer(mt.OCI_LAYER) and mt.layer_compression(mt.OCI_LAYER) is None
    assert mt.ACCEPT_MANIFESTS[0] == mt.OCI_INDEX
    with pytest.raises(InvalidArgument, match="unknown layer media type"):
        mt.layer_compression(mt.OCI_CONFIG)
