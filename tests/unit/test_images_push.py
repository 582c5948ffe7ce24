"""The image service's push against a fake registry: what goes up (manifest, blobs),
the mount sources recorded at pull time, Docker's progress lines, and the refusal of an
image that is not there."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from berth import errdefs
from berth.content import LocalStore
from berth.images import ImageService, PullEvent
from berth.images.push import SOURCE_LABEL, mount_sources
from berth.metadata import Database
from berth.oci.digest import Digest
from berth.oci.image import Descriptor, parse_manifest
from berth.oci.reference import Reference, parse_docker_ref
from berth.registry import Credentials, Progress
from berth.registry.store import BlobProvider
from berth.snapshots import OverlaySnapshotter

from .test_images import BASE, FakeRegistry


@dataclass
class PushingRegistry(FakeRegistry):
    pushed: list[tuple[str, Descriptor, tuple[str, ...], Credentials | None]] = field(default_factory=list)
    have: set[str] = field(default_factory=set)

    def push(
        self,
        ref: Reference | str,
        provider: BlobProvider,
        descriptor: Descriptor,
        *,
        mount_from: Sequence[str] = (),
        progress: Callable[[Progress], None] | None = None,
        credentials: Credentials | None = None,
    ) -> Digest:
        r = parse_docker_ref(str(ref))
        self.pushed.append((str(r), descriptor, tuple(mount_from), credentials))
        m = parse_manifest(provider.read_blob(descriptor.digest))
        for d in [m.config, *m.layers]:
            assert provider.read_blob(d.digest)
            if progress is None:
                continue
            if d.digest in self.have:
                progress(Progress(d.digest, "exists", d.size, d.size))
            elif mount_from:
                progress(Progress(d.digest, "mounted", d.size, d.size))
            else:
                progress(Progress(d.digest, "uploading", d.size, d.size))
                progress(Progress(d.digest, "pushed", d.size, d.size))
            self.have.add(d.digest)
        return descriptor.digest

    def login(
        self, registry: str, username: str, password: str, *, store: bool = True, keep: bool = True
    ) -> None:
        if password != "secret":
            raise errdefs.Unauthorized("login attempt to http://x/v2/ failed with status: 401 Unauthorized")


@pytest.fixture
def env(tmp_path):
    db = Database(":memory:")
    store = LocalStore(str(tmp_path / "content"))
    sn = OverlaySnapshotter(str(tmp_path / "sn"), db)
    reg = PushingRegistry()
    yield ImageService(store, sn, db, reg), reg
    db.close()


def test_pull_records_the_source_repository_of_each_blob(env):
    svc, reg = env
    mdesc = reg.add_image("127.0.0.1:5000/lib/app:1", [BASE])
    svc.pull("127.0.0.1:5000/lib/app:1")
    m = parse_manifest(reg.manifests["127.0.0.1:5000/lib/app:1"][1])
    with svc.db.images() as tx:
        labels = tx.get_content(str(m.layers[0].digest)).labels
    assert labels == {SOURCE_LABEL + "127.0.0.1:5000": "lib/app"}
    assert mount_sources(svc.db, [m.config.digest, *m.layers], "127.0.0.1:5000") == ["lib/app"]
    assert mount_sources(svc.db, [m.config.digest], "elsewhere:5000") == []
    assert mdesc.digest


def test_push_mounts_from_where_the_blobs_came_and_says_it_as_docker(env):
    svc, reg = env
    mdesc = reg.add_image("127.0.0.1:5000/lib/app:1", [BASE, {"bin/x": b"x"}])
    svc.pull("127.0.0.1:5000/lib/app:1")
    svc.tag("127.0.0.1:5000/lib/app:1", "127.0.0.1:5000/other/copy", "2")
    events: list[PullEvent] = []
    (res,) = svc.push("127.0.0.1:5000/other/copy:2", events.append, Credentials("u", "p"))
    assert res.tag == "2" and res.digest == mdesc.digest and res.size == mdesc.size
    assert reg.pushed[-1][0] == "127.0.0.1:5000/other/copy:2"
    assert reg.pushed[-1][2] == ("lib/app",) and reg.pushed[-1][3] == Credentials("u", "p")
    statuses = [e.status for e in events]
    assert statuses[0] == "The push refers to repository [127.0.0.1:5000/other/copy]"
    assert statuses[1:3] == ["Preparing", "Preparing"]
    assert statuses.count("Mounted from lib/app") == 2
    assert statuses[-1] == f"2: digest: {mdesc.digest} size: {mdesc.size}"
    events.clear()
    svc.push("127.0.0.1:5000/other/copy:2", events.append)
    assert [e.status for e in events].count("Layer already exists") == 2


def test_push_of_a_repository_sends_each_tag(env):
    svc, reg = env
    reg.add_image("127.0.0.1:5000/app:1", [BASE])
    svc.pull("127.0.0.1:5000/app:1")
    svc.tag("127.0.0.1:5000/app:1", "127.0.0.1:5000/app", "2")
    results = svc.push("127.0.0.1:5000/app")
    assert [r.tag for r in results] == ["1", "2"]


def test_push_of_an_unknown_image_says_it_as_dockerd(env):
    svc, _ = env
    with pytest.raises(errdefs.NotFound) as info:
        svc.push("127.0.0.1:5000/nosuch:1")
    assert info.value.message == "An image does not exist locally with the tag: 127.0.0.1:5000/nosuch"


def test_login_checks_and_keeps_nothing(env):
    svc, _ = env
    svc.login("127.0.0.1:5000", "u", "secret")
    with pytest.raises(errdefs.Unauthorized):
        svc.login("127.0.0.1:5000", "u", "wrong")
