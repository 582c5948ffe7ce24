"""The image service against a fake registry: pull into content and snapshots, names,
list/inspect/tag/remove as dockerd does them, and garbage collection."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from berth import errdefs
from berth.content import LocalStore, write_blob
from berth.images import DeleteItem, ImageService, PullEvent
from berth.metadata import Database
from berth.oci import mediatypes as mt
from berth.oci.digest import Digest, sha256_of
from berth.oci.image import Descriptor, canonical_json, chain_ids, parse_manifest
from berth.oci.platform import Platform
from berth.oci.reference import Reference, parse_docker_ref
from berth.registry import Credentials, Progress, PullResult, Resolved
from berth.registry.store import BlobIngester
from berth.snapshots import OverlaySnapshotter


def _layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in sorted(files.items()):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@dataclass
class FakeRegistry:
    """Manifests by reference string, blobs by digest; counts what it sends."""

    manifests: dict[str, tuple[Descriptor, bytes]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)
    down: bool = False

    def add_image(
        self, name: str, layers: Sequence[dict[str, bytes]], labels: dict[str, str] | None = None,
        created: str = "2026-01-02T03:04:05Z",
    ) -> Descriptor:
        ldescs, diff_ids = [], []
        for files in layers:
            raw = _layer(files)
            blob = gzip.compress(raw, mtime=0)
            d = Descriptor(mt.DOCKER_LAYER_GZIP, sha256_of(blob), len(blob))
            self.blobs[d.digest] = blob
            ldescs.append(d)
            diff_ids.append(str(sha256_of(raw)))
        config = canonical_json({
            "architecture": "amd64", "os": "linux", "created": created,
            "config": {"Cmd": ["/bin/sh"], "Labels": labels or {}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": created, "created_by": "test"}],
        })
        cdesc = Descriptor(mt.DOCKER_CONFIG, sha256_of(config), len(config))
        self.blobs[cdesc.digest] = config
        manifest = canonical_json({
            "schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
            "config": cdesc.to_dict(), "layers": [d.to_dict() for d in ldescs],
        })
        mdesc = Descriptor(mt.DOCKER_MANIFEST, sha256_of(manifest), len(manifest))
        ref = parse_docker_ref(name)
        self.manifests[str(ref)] = (mdesc, manifest)
        self.manifests[f"{ref.name}@{mdesc.digest}"] = (mdesc, manifest)
        return mdesc

    def resolve(self, ref: Reference | str, *, credentials: Credentials | None = None) -> Resolved:
        if self.down:
            raise errdefs.Unavailable("registry down")
        r = parse_docker_ref(str(ref))
        try:
            desc, data = self.manifests[str(r)]
        except KeyError:
            raise errdefs.NotFound(
                f"manifest for {r.familiar_string()} not found: manifest unknown: manifest unknown"
            ) from None
        return Resolved(r, desc, data)

    def pull(
        self, ref: Reference | str, ingester: BlobIngester, *, platform: Platform | None = None,
        progress: Callable[[Progress], None] | None = None, credentials: Credentials | None = None,
    ) -> PullResult:
        res = self.resolve(ref)
        m = parse_manifest(res.data)
        for d in [res.descriptor, m.config, *m.layers]:
            data = res.data if d is res.descriptor else self.blobs[d.digest]
            try:
                w = ingester.writer(f"layer-{d.digest}", total=d.size, expected=d.digest)
            except errdefs.AlreadyExists:
                if progress:
                    progress(Progress(d.digest, "exists", d.size, d.size))
                continue
            self.sent.append(d.digest)
            if progress:
                progress(Progress(d.digest, "waiting", 0, d.size))
            w.write(data)
            if progress:
                progress(Progress(d.digest, "downloading", len(data), d.size))
            w.commit(d.size, d.digest)
            w.close()
            if progress:
                progress(Progress(d.digest, "complete", d.size, d.size))
        return PullResult(res.ref, res.descriptor, res.descriptor, m.config, tuple(m.layers))


@dataclass
class Usage:
    users: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)

    def containers_using(self, image_id: Digest) -> Sequence[tuple[str, bool]]:
        return self.users.get(str(image_id), [])


@pytest.fixture
def env(tmp_path):
    db = Database(":memory:")
    store = LocalStore(str(tmp_path / "content"))
    sn = OverlaySnapshotter(str(tmp_path / "sn"), db)
    reg = FakeRegistry()
    usage = Usage()
    svc = ImageService(store, sn, db, reg, usage=usage)
    yield svc, reg, usage
    db.close()


BASE = {"etc/os-release": b"base\n"}


def _pull(svc: ImageService, ref: str) -> list[PullEvent]:
    events: list[PullEvent] = []
    svc.pull(ref, events.append)
    return events


def test_pull_emits_dockers_sequence_and_unpacks_each_layer_by_chain_id(env):
    svc, reg, _ = env
    reg.add_image("127.0.0.1:5000/app:1", [BASE, {"bin/app": b"x" * 3000}])
    events = _pull(svc, "127.0.0.1:5000/app:1")
    statuses = [e.status for e in events]
    assert statuses[0] == "Pulling from app" and events[0].id == "1"
    assert statuses.count("Pulling fs layer") == 2
    assert "Downloading" in statuses and "Verifying Checksum" in statuses
    assert statuses.index("Download complete") < statuses.index("Extracting")
    assert statuses.count("Pull complete") == 2
    assert statuses[-2].startswith("Digest: sha256:")
    assert statuses[-1] == "Status: Downloaded newer image for 127.0.0.1:5000/app:1"
    (img,) = svc.list()
    assert img.repo_tags == ("127.0.0.1:5000/app:1",)
    assert img.repo_digests == (f"127.0.0.1:5000/app@{statuses[-2].removeprefix('Digest: ')}",)
    detail = svc.inspect("127.0.0.1:5000/app:1")
    names = {i.name for i in svc.sn.walk()}
    assert names == {str(c) for c in detail.chain_ids}
    top = svc.sn.stat(str(detail.chain_ids[-1]))
    assert os.path.exists(os.path.join(svc.sn.fs_dir(top.name), "bin", "app"))
    assert img.size > 3000 and img.created == 1767323045


def test_pulling_again_is_up_to_date_and_fetches_nothing(env):
    svc, reg, _ = env
    reg.add_image("app", [BASE])
    _pull(svc, "app")
    sent = len(reg.sent)
    events = _pull(svc, "app")
    assert [e.status for e in events] == [
        "Pulling from library/app",
        events[1].status,
        "Status: Image is up to date for app:latest",
    ]
    assert events[1].status.startswith("Digest: ")
    assert len(reg.sent) == sent


def test_a_shared_base_layer_already_exists_and_is_extracted_once(env):
    svc, reg, _ = env
    reg.add_image("one", [BASE, {"a": b"1"}])
    reg.add_image("two", [BASE, {"b": b"2"}])
    _pull(svc, "one")
    events = _pull(svc, "two")
    assert [e.status for e in events].count("Already exists") == 1
    assert [e.status for e in events].count("Pull complete") == 1
    assert len(list(svc.sn.walk())) == 3


def test_unknown_manifest_is_not_found_in_dockers_words(env):
    svc, _, _ = env
    with pytest.raises(errdefs.NotFound, match="manifest for nosuch:latest not found: manifest unknown"):
        svc.resolve("nosuch")


def test_inspect_of_unknown_image_says_no_such_image(env):
    svc, _, _ = env
    with pytest.raises(errdefs.NotFound, match=r"^No such image: apic/nosuch:zz$"):
        svc.inspect("apic/nosuch:zz")


def test_find_by_id_prefix_and_full_id(env):
    svc, reg, _ = env
    reg.add_image("app", [BASE])
    _pull(svc, "app")
    (img,) = svc.list()
    assert svc.inspect(img.id.encoded[:6]).id == img.id
    assert svc.inspect(str(img.id)).id == img.id
    assert svc.inspect(img.repo_digests[0]).id == img.id


def test_tag_then_rmi_untags_only(env):
    svc, reg, _ = env
    reg.add_image("app", [BASE])
    _pull(svc, "app")
    assert svc.tag("app", "example.com/x", "t1") == "example.com/x:t1"
    assert svc.remove("example.com/x:t1") == [DeleteItem(untagged="example.com/x:t1")]
    assert len(svc.list()) == 1


def test_rmi_of_last_tag_deletes_and_frees_blobs_and_snapshots(env):
    svc, reg, _ = env
    reg.add_image("one", [BASE, {"a": b"1"}])
    reg.add_image("two", [BASE, {"b": b"2"}])
    _pull(svc, "one")
    _pull(svc, "two")
    one = svc.inspect("one")
    blobs_before = {i.digest for i in svc.store.walk()}
    items = svc.remove("one")
    assert items[0] == DeleteItem(untagged="one:latest")
    assert items[1].untagged.startswith("one@sha256:")
    assert items[2] == DeleteItem(deleted=str(one.id))
    assert items[3:] == [DeleteItem(deleted=str(one.chain_ids[1]))]  # the base is shared
    names = {i.name for i in svc.sn.walk()}
    assert str(one.chain_ids[0]) in names and str(one.chain_ids[1]) not in names
    blobs_after = {i.digest for i in svc.store.walk()}
    assert one.id in blobs_before and one.id not in blobs_after
    svc.remove("two")
    assert list(svc.sn.walk()) == [] and list(svc.store.walk()) == []


def test_rmi_by_id_with_several_repositories_must_be_forced(env):
    svc, reg, _ = env
    reg.add_image("app", [BASE])
    _pull(svc, "app")
    svc.tag("app", "other")
    image_id = svc.list()[0].id
    with pytest.raises(errdefs.Conflict, match=r"must be forced.*multiple repositories"):
        svc.remove(image_id.encoded[:12])
    items = svc.remove(image_id.encoded[:12], force=True)
    assert DeleteItem(deleted=str(image_id)) in items
    assert svc.list() == []


def test_an_image_in_use_is_refused(env):
    svc, reg, usage = env
    reg.add_image("app", [BASE])
    _pull(svc, "app")
    image_id = svc.list()[0].id
    usage.users[str(image_id)] = [("c" * 64, True)]
    with pytest.raises(errdefs.Conflict, match="must force"):
        svc.remove("app")
    with pytest.raises(errdefs.Conflict, match=r"cannot be forced.*running container cccccccccccc"):
        svc.remove(str(image_id), force=True)
    assert len(svc.list()) == 1


def test_moving_a_tag_leaves_the_old_image_dangling_then_prune_removes_it(env):
    svc, reg, _ = env
    reg.add_image("app", [{"v": b"1"}])
    _pull(svc, "app")
    reg.add_image("app", [{"v": b"2"}])
    _pull(svc, "app")
    imgs = svc.list()
    assert len(imgs) == 2
    assert [i.repo_tags for i in svc.list({"dangling": ["true"]})] == [()]
    items, reclaimed = svc.prune()
    assert any(i.deleted for i in items) and reclaimed > 0
    assert [i.repo_tags for i in svc.list()] == [("app:latest",)]


def test_list_filters(env):
    svc, reg, _ = env
    reg.add_image("busybox", [BASE], labels={"a": "b"}, created="2026-01-01T00:00:00Z")
    reg.add_image("example.com/tools/x:2", [{"x": b"x"}], created="2026-02-01T00:00:00Z")
    _pull(svc, "busybox")
    _pull(svc, "example.com/tools/x:2")
    assert [i.repo_tags for i in svc.list({"reference": ["busy*"]})] == [("busybox:latest",)]
    assert [i.repo_tags for i in svc.list({"label": ["a=b"]})] == [("busybox:latest",)]
    assert [i.repo_tags for i in svc.list({"label": ["a=c"]})] == []
    assert [i.repo_tags for i in svc.list({"since": ["busybox"]})] == [("example.com/tools/x:2",)]
    assert [i.repo_tags for i in svc.list({"before": ["example.com/tools/x:2"]})] == [("busybox:latest",)]
    with pytest.raises(errdefs.InvalidArgument, match="invalid filter 'nope'"):
        svc.list({"nope": ["1"]})


def test_registry_down_is_unavailable(env):
    svc, reg, _ = env
    reg.down = True
    with pytest.raises(errdefs.Unavailable):
        svc.pull("app")


def test_a_blob_written_by_a_pull_in_flight_survives_gc(env):
    svc, reg, _ = env
    reg.add_image("app", [BASE])
    with svc._lease():
        write_blob(svc.store, "x", b"fresh")
        svc.gc()
        assert sha256_of(b"fresh") in {i.digest for i in svc.store.walk()}
    svc.gc()
    assert list(svc.store.walk()) == []


def test_chain_ids_name_the_snapshots(env):
    svc, reg, _ = env
    reg.add_image("app", [BASE, {"a": b"1"}])
    _pull(svc, "app")
    d = svc.inspect("app")
    assert list(d.chain_ids) == chain_ids(d.diff_ids)


def test_exports_are_sorted_and_present():
    import berth.images

    assert berth.images.__all__ == sorted(berth.images.__all__)
    for name in berth.images.__all__:
        assert hasattr(berth.images, name)


def test_a_layer_that_does_not_match_its_diff_id_leaves_no_snapshot_and_no_name(env):
    svc, reg, _ = env
    mdesc = reg.add_image("bad", [BASE, {"a": b"1"}])
    m = parse_manifest(reg.manifests["docker.io/library/bad:latest"][1])
    # the second layer's blob unpacks to another tar than its diff_id says
    other = gzip.compress(_layer({"evil": b"x"}), mtime=0)
    bad = Descriptor(m.layers[1].media_type, sha256_of(other), len(other))
    doc = json.loads(reg.manifests["docker.io/library/bad:latest"][1])
    doc["layers"][1] = bad.to_dict()
    data = canonical_json(doc)
    desc = Descriptor(mdesc.media_type, sha256_of(data), len(data))
    reg.blobs[bad.digest] = other
    reg.manifests["docker.io/library/bad:latest"] = (desc, data)
    reg.manifests[f"docker.io/library/bad@{desc.digest}"] = (desc, data)
    with pytest.raises(errdefs.InvalidArgument, match="diff_id"):
        svc.pull("bad")
    assert [i.kind for i in svc.sn.walk()] == ["committed"]  # the base; no extract-* left
    assert svc.list() == []
    svc.gc()
    assert list(svc.sn.walk()) == []


def test_recover_removes_half_extracted_layers(env):
    svc, reg, _ = env
    reg.add_image("app", [BASE])
    _pull(svc, "app")
    svc.sn.prepare("extract-1-2-3")
    assert svc.recover() == ["extract-1-2-3"]
    assert [i.kind for i in svc.sn.walk()] == ["committed"]
