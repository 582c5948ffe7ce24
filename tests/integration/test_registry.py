"""The registry client against Debian's docker-registry (distribution 2.8) started here
on 127.0.0.1: plain HTTP, TLS with a test CA, htpasswd basic auth, token auth with a
small token server; and against fake registries that cut a transfer or lie.

Nothing needs root; nothing leaves 127.0.0.1."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import warnings
from dataclasses import dataclass

import pytest

from berth import errdefs
from berth.content import LocalStore
from berth.oci import mediatypes as mt
from berth.oci.digest import sha256_of
from berth.oci.image import Descriptor, canonical_json
from berth.oci.reference import parse_docker_ref
from berth.registry import (
    Client,
    Credentials,
    CredentialStore,
    RegistryHosts,
    VerificationFailed,
)
from berth.testing.registry import REGISTRY, free_port, layer_tar, registry_process

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # bcrypt for htpasswd, from libxcrypt (no bcrypt package here)

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(REGISTRY is None, reason="docker-registry is not installed")
_free_port = free_port


@pytest.fixture
def registry(tmp_path):
    with registry_process(str(tmp_path / "registry")) as reg:
        yield reg


@pytest.fixture
def store(tmp_path):
    return LocalStore(str(tmp_path / "content"))


@pytest.fixture
def creds(tmp_path):
    path = str(tmp_path / "home" / ".berth" / "config.json")
    return CredentialStore(path, [path])


def client_for(creds: CredentialStore, certs_dir: str = "/nonexistent", **kw: object) -> Client:
    return Client(hosts=RegistryHosts(certs_dir=certs_dir, **kw), credentials=creds)  # type: ignore[arg-type]


# -- a small image ---------------------------------------------------------------------


@dataclass
class Image:
    manifest: Descriptor
    config: Descriptor
    layers: list[Descriptor]


def make_image(store: LocalStore, seed: str = "a", big: int = 0) -> Image:
    raw_layers = [
        layer_tar({"etc/hello": f"hello {seed}\n".encode()}),
        layer_tar({"bin/data": os.urandom(big) if big else seed.encode() * 5000}),
    ]
    layers, diff_ids = [], []
    for raw in raw_layers:
        blob = gzip.compress(raw, mtime=0)
        d = Descriptor(mt.OCI_LAYER_GZIP, sha256_of(blob), len(blob))
        store_blob(store, d, blob)
        layers.append(d)
        diff_ids.append(str(sha256_of(raw)))
    config = canonical_json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    )
    cdesc = Descriptor(mt.OCI_CONFIG, sha256_of(config), len(config))
    store_blob(store, cdesc, config)
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": cdesc.to_dict(),
            "layers": [d.to_dict() for d in layers],
        }
    )
    mdesc = Descriptor(mt.OCI_MANIFEST, sha256_of(manifest), len(manifest))
    store_blob(store, mdesc, manifest)
    return Image(mdesc, cdesc, layers)


def store_blob(store: LocalStore, d: Descriptor, data: bytes) -> None:
    from berth.content import write_blob

    write_blob(store, f"test-{d.digest}", data, size=d.size, expected=d.digest)


def assert_same(a: LocalStore, b: LocalStore, img: Image) -> None:
    for d in [img.manifest, img.config, *img.layers]:
        assert b.read_blob(d.digest) == a.read_blob(d.digest)


# -- plain HTTP ------------------------------------------------------------------------


def test_push_then_pull_by_tag_and_digest(registry, store, creds, tmp_path):
    img = make_image(store)
    client = client_for(creds)
    ref = f"{registry.host}/test/app:1"
    events = []
    digest = client.push(ref, store, img.manifest, progress=events.append)
    assert digest == img.manifest.digest
    assert {e.status for e in events} >= {"pushed"}

    other = LocalStore(str(tmp_path / "other"))
    result = client.pull(ref, other)
    assert result.manifest.digest == img.manifest.digest
    assert result.config.digest == img.config.digest
    assert [d.digest for d in result.layers] == [d.digest for d in img.layers]
    assert_same(store, other, img)

    by_digest = LocalStore(str(tmp_path / "third"))
    r2 = client.pull(f"{registry.host}/test/app@{digest}", by_digest)
    assert r2.manifest.digest == digest
    assert_same(store, by_digest, img)

    # pushing again uploads nothing; pulling again downloads nothing
    again = []
    client.push(ref, store, img.manifest, progress=again.append)
    assert {e.status for e in again} == {"exists"}
    again.clear()
    client.pull(ref, other, progress=again.append)
    assert {e.status for e in again} == {"exists"}
    client.close()


def test_resolve_checks_the_docker_content_digest(registry, store, creds):
    img = make_image(store)
    client = client_for(creds)
    client.push(f"{registry.host}/test/res:v", store, img.manifest)
    r = client.resolve(f"{registry.host}/test/res:v")
    assert r.descriptor.digest == img.manifest.digest
    assert r.descriptor.media_type == mt.OCI_MANIFEST
    assert r.data == store.read_blob(img.manifest.digest)


def test_cross_repository_mount_and_chunked_upload(registry, store, creds, tmp_path):
    img = make_image(store, big=300_000)
    client = client_for(creds)
    client.chunk_size = 64 * 1024  # the big layer goes in several PATCHes
    client.push(f"{registry.host}/base/one:1", store, img.manifest)
    events = []
    client.push(
        f"{registry.host}/derived/two:1",
        store,
        img.manifest,
        mount_from=["base/one"],
        progress=events.append,
    )
    assert {e.status for e in events} == {"mounted"}
    other = LocalStore(str(tmp_path / "other"))
    client.pull(f"{registry.host}/derived/two:1", other)
    assert_same(store, other, img)


def test_index_with_platform_selection(registry, store, creds, tmp_path):
    amd = make_image(store, "amd")
    arm = make_image(store, "arm")
    index = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": [
                {**arm.manifest.to_dict(), "platform": {"architecture": "arm64", "os": "linux"}},
                {**amd.manifest.to_dict(), "platform": {"architecture": "amd64", "os": "linux"}},
            ],
        }
    )
    idesc = Descriptor(mt.OCI_INDEX, sha256_of(index), len(index))
    store_blob(store, idesc, index)
    client = client_for(creds)
    assert client.push(f"{registry.host}/multi/app:1", store, idesc) == idesc.digest

    from berth.oci.platform import Platform

    other = LocalStore(str(tmp_path / "other"))
    r = client.pull(f"{registry.host}/multi/app:1", other, platform=Platform("linux", "arm64"))
    assert r.descriptor.digest == idesc.digest
    assert r.manifest.digest == arm.manifest.digest
    assert other.read_blob(idesc.digest) == index
    assert_same(store, other, arm)


def test_unknown_manifest_is_not_found_in_dockers_words(registry, store, creds):
    client = client_for(creds)
    with pytest.raises(errdefs.NotFound) as exc:
        client.pull(f"{registry.host}/library/nosuch:latest", store)
    assert str(exc.value) == (
        f"manifest for {registry.host}/library/nosuch:latest not found: "
        "manifest unknown: manifest unknown"
    )


def test_registry_down_is_unavailable_naming_it(store, creds):
    port = _free_port()
    client = client_for(creds)
    with pytest.raises(errdefs.Unavailable) as exc:
        client.pull(f"127.0.0.1:{port}/app:1", store)
    assert f"127.0.0.1:{port}" in str(exc.value)
    assert str(exc.value).endswith("connect: connection refused")


def test_skopeo_reads_what_was_pushed(registry, store, creds, tmp_path):
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        pytest.skip("skopeo is not installed")
    img = make_image(store)
    client_for(creds).push(f"{registry.host}/interop/app:1", store, img.manifest)
    out = subprocess.run(
        [skopeo, "inspect", "--tls-verify=false", f"docker://{registry.host}/interop/app:1"],
        capture_output=True,
        check=True,
        timeout=30,
    )
    doc = json.loads(out.stdout)
    assert doc["Digest"] == img.manifest.digest
    assert doc["Layers"] == [d.digest for d in img.layers]
    # skopeo copy fetches every blob and verifies it: the bytes must be berth's.
    dest = str(tmp_path / "skopeo-copy")
    try:
        subprocess.run(
            [skopeo, "copy", "-q", "--src-tls-verify=false", f"docker://{registry.host}/interop/app:1", f"dir:{dest}"],
            capture_output=True, check=True, timeout=60,
        )  # fmt: skip
        for d in [*img.layers, img.config]:
            with open(os.path.join(dest, d.digest.split(":", 1)[1]), "rb") as f:
                assert store.read_blob(d.digest) == f.read()
    finally:
        shutil.rmtree(dest, ignore_errors=True)


# -- TLS with a test CA ----------------------------------------------------------------


def _openssl(*args: str, input: bytes | None = None) -> bytes:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], input=input, capture_output=True, check=True).stdout


def make_ca_and_cert(d: str) -> tuple[str, str, str]:
    """(ca.crt, server.crt, server.key) for 127.0.0.1."""
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, csr, crt = (os.path.join(d, n) for n in ("server.key", "server.csr", "server.crt"))
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        ca_key,
        "-out",
        ca_crt,
        "-days",
        "1",
        "-subj",
        "/CN=berth test CA",
    )
    _openssl("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    _openssl(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca_crt,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-out",
        crt,
        "-days",
        "1",
        "-extfile",
        ext,
    )
    return ca_crt, crt, key


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_tls_with_a_per_registry_ca(tmp_path, store, creds):
    pki = tmp_path / "pki"
    pki.mkdir()
    ca, crt, key = make_ca_and_cert(str(pki))
    with registry_process(str(tmp_path / "registry"), tls=(crt, key)) as reg:
        certs_d = tmp_path / "certs.d"
        (certs_d / reg.host).mkdir(parents=True)
        shutil.copy(ca, certs_d / reg.host / "ca.crt")
        img = make_image(store)
        # not insecure: TLS verified with the registry's CA
        client = client_for(creds, str(certs_d), insecure=())
        client.push(f"{reg.host}/tls/app:1", store, img.manifest)
        other = LocalStore(str(tmp_path / "other"))
        client.pull(f"{reg.host}/tls/app:1", other)
        assert_same(store, other, img)
        assert client.transport.base_url(client.transport.hosts.endpoint(reg.host)).startswith(
            "https://"
        )

        # without the CA: refused, naming the registry
        stranger = client_for(creds, str(tmp_path / "empty"), insecure=())
        with pytest.raises(errdefs.Unavailable) as exc:
            stranger.resolve(f"{reg.host}/tls/app:1")
        assert reg.host in str(exc.value) and "certificate" in str(exc.value)

        # listed as insecure: unverified TLS works
        loose = client_for(creds, str(tmp_path / "empty"))
        assert loose.resolve(f"{reg.host}/tls/app:1").descriptor.digest == img.manifest.digest


# -- htpasswd basic auth ---------------------------------------------------------------


def _htpasswd(path: str, user: str, password: str) -> None:
    with open(path, "w") as f:
        f.write(f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))}\n")


@pytest.fixture
def basic_registry(tmp_path):
    d = tmp_path / "registry"
    d.mkdir()
    _htpasswd(str(d / "htpasswd"), "apic", "secret")
    auth = f"auth: {{htpasswd: {{realm: basic-realm, path: {d / 'htpasswd'}}}}}"
    with registry_process(str(d), auth=auth) as reg:
        yield reg


def test_basic_auth_login_push_pull(basic_registry, store, creds, tmp_path):
    reg = basic_registry
    img = make_image(store)
    ref = f"{reg.host}/private/app:1"
    anonymous = client_for(creds)
    with pytest.raises(errdefs.Unauthorized) as exc:
        anonymous.push(ref, store, img.manifest)
    assert "unauthorized: authentication required" in str(exc.value)

    client = client_for(creds)
    client.login(reg.host, "apic", "secret")
    st = os.stat(creds.write_path)
    assert st.st_mode & 0o777 == 0o600
    saved = json.load(open(creds.write_path))
    assert saved["auths"][reg.host]["auth"] == base64.b64encode(b"apic:secret").decode()

    client.push(ref, store, img.manifest)
    fresh = client_for(creds)  # reads the stored credentials
    other = LocalStore(str(tmp_path / "other"))
    fresh.pull(ref, other)
    assert_same(store, other, img)

    client.logout(reg.host)
    assert reg.host not in json.load(open(creds.write_path))["auths"]


def test_basic_auth_wrong_password(basic_registry, store, creds):
    reg = basic_registry
    client = client_for(creds)
    with pytest.raises(errdefs.Unauthorized) as exc:
        client.login(reg.host, "apic", "wrong")
    assert (
        str(exc.value)
        == f"login attempt to http://{reg.host}/v2/ failed with status: 401 Unauthorized"
    )
    assert not os.path.exists(creds.write_path)

    creds.store(reg.host, Credentials("apic", "wrong"))
    with pytest.raises(errdefs.Unauthorized) as exc:
        client_for(creds).resolve(f"{reg.host}/private/app:1")
    assert str(exc.value) == "unauthorized: authentication required"


# -- token auth ------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Issues RS256 JWTs the registry trusts (auth.token.rootcertbundle). Anyone may
    pull; push needs apic/secret; a wrong password is refused."""

    def __init__(self, d: str) -> None:
        self.key = os.path.join(d, "token.key")
        self.cert = os.path.join(d, "token.crt")
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            self.key,
            "-out",
            self.cert,
            "-days",
            "1",
            "-subj",
            "/CN=berth test token issuer",
        )
        der = _openssl("x509", "-in", self.cert, "-pubkey", "-noout")
        der = _openssl("pkey", "-pubin", "-outform", "DER", input=der)
        # libtrust's key id: base32(sha256(DER public key)[:30]) in groups of four
        b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
        self.kid = ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_GET(self) -> None:
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query)
                auth = self.headers.get("Authorization", "")
                server.requests.append((auth, q))
                user = ""
                if auth.startswith("Basic "):
                    user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                    if (user, pw) != ("apic", "secret"):
                        body = json.dumps({"details": "incorrect username or password"}).encode()
                        self.send_response(401)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                        return
                access = []
                for scope in q.get("scope", []):
                    typ, name, actions = scope.split(":")
                    granted = [a for a in actions.split(",") if a == "pull" or user]
                    access.append({"type": typ, "name": name, "actions": granted})
                body = json.dumps(
                    {
                        "token": server.sign(user, q.get("service", [""])[0], access),
                        "expires_in": 300,
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def sign(self, user: str, service: str, access: list[dict[str, object]]) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        claims = {
            "iss": "berth-test-issuer",
            "sub": user,
            "aud": service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": os.urandom(8).hex(),
            "access": access,
        }
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        ).encode()
        sig = _openssl("dgst", "-sha256", "-sign", self.key, input=signing_input)
        return signing_input.decode() + "." + _b64url(sig)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def token_registry(tmp_path):
    if OPENSSL is None:
        pytest.skip("openssl is not installed")
    d = tmp_path / "registry"
    d.mkdir()
    tokens = TokenServer(str(d))
    auth = (
        f"auth: {{token: {{realm: '{tokens.url}', service: berth-test-registry, "
        f"issuer: berth-test-issuer, rootcertbundle: {tokens.cert}}}}}"
    )
    try:
        with registry_process(str(d), auth=auth) as reg:
            yield reg, tokens
    finally:
        tokens.close()


def test_token_auth_anonymous_pull_and_push_with_credentials(
    token_registry, store, creds, tmp_path
):
    reg, tokens = token_registry
    img = make_image(store)
    ref = f"{reg.host}/tok/app:1"

    anonymous = client_for(creds)
    with pytest.raises(errdefs.Unauthorized):
        anonymous.push(ref, store, img.manifest)

    client = client_for(creds)
    client.login(reg.host, "apic", "secret")
    client.push(ref, store, img.manifest)
    push_scopes = {s for _, q in tokens.requests for s in q.get("scope", [])}
    assert "repository:tok/app:pull,push" in push_scopes

    # anonymous bearer flow for the pull, one token per scope, cached
    tokens.requests.clear()
    anon_creds = CredentialStore(str(tmp_path / "none.json"), [])
    puller = client_for(anon_creds)
    other = LocalStore(str(tmp_path / "other"))
    puller.pull(ref, other)
    assert_same(store, other, img)
    assert len(tokens.requests) == 1
    auth, q = tokens.requests[0]
    assert auth == "" and q["scope"] == ["repository:tok/app:pull"]
    assert q["service"] == ["berth-test-registry"]


def test_token_auth_wrong_password(token_registry, creds):
    reg, _ = token_registry
    with pytest.raises(errdefs.Unauthorized) as exc:
        client_for(creds).login(reg.host, "apic", "wrong")
    assert "incorrect username or password" in str(exc.value)
    assert not os.path.exists(creds.write_path)


# -- fake registries: a cut transfer, a liar -------------------------------------------


class FakeRegistry:
    """Serves one repository from memory. ``cut``: digests whose first full GET stops
    half-way; ``lie``: digest → other bytes to serve; ``ignore_range``: answer 200."""

    def __init__(self) -> None:
        self.manifests: dict[str, tuple[str, bytes]] = {}
        self.blobs: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.lie: dict[str, bytes] = {}
        self.ignore_range = False
        self.ranges: list[tuple[str, str]] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = self.path.split("/")
                if self.path == "/v2/":
                    return self._send(200, b"{}", {})
                kind, ref = parts[-2], parts[-1]
                if kind == "manifests" and ref in fake.manifests:
                    media_type, body = fake.manifests[ref]
                    return self._send(
                        200,
                        body,
                        {"Content-Type": media_type, "Docker-Content-Digest": str(sha256_of(body))},
                    )
                if kind == "blobs" and ref in fake.blobs:
                    data = fake.lie.get(ref, fake.blobs[ref])
                    rng = self.headers.get("Range", "")
                    fake.ranges.append((ref, rng))
                    if rng and not fake.ignore_range:
                        start = int(rng.removeprefix("bytes=").split("-")[0])
                        return self._send(
                            206,
                            data[start:],
                            {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"},
                        )
                    if ref in fake.cut:
                        fake.cut.discard(ref)
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    return self._send(200, data, {})
                body = json.dumps(
                    {
                        "errors": [
                            {
                                "code": "MANIFEST_UNKNOWN"
                                if kind == "manifests"
                                else "BLOB_UNKNOWN",
                                "message": "unknown",
                            }
                        ]
                    }
                ).encode()
                return self._send(404, body, {"Content-Type": "application/json"})

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def serve(self, source: LocalStore, img: Image, tag: str = "1") -> None:
        m = source.read_blob(img.manifest.digest)
        self.manifests[tag] = (img.manifest.media_type, m)
        self.manifests[str(img.manifest.digest)] = (img.manifest.media_type, m)
        for d in [img.config, *img.layers]:
            self.blobs[str(d.digest)] = source.read_blob(d.digest)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def fake():
    f = FakeRegistry()
    try:
        yield f
    finally:
        f.close()


def test_a_cut_transfer_is_resumed_with_a_range_request(fake, store, creds, tmp_path):
    img = make_image(store, big=400_000)
    fake.serve(store, img)
    big = str(img.layers[1].digest)
    fake.cut.add(big)
    other = LocalStore(str(tmp_path / "other"))
    client_for(creds).pull(f"{fake.host}/app:1", other)
    assert_same(store, other, img)
    half = img.layers[1].size // 2
    assert (big, f"bytes={half}-") in fake.ranges
    assert other.list_statuses() == []


def test_a_partial_ingest_from_an_earlier_pull_is_resumed(fake, store, creds, tmp_path):
    img = make_image(store, big=200_000)
    fake.serve(store, img)
    layer = img.layers[1]
    other = LocalStore(str(tmp_path / "other"))
    with other.writer(f"layer-{layer.digest}", total=layer.size, expected=layer.digest) as w:
        w.write(store.read_blob(layer.digest)[:1000])
    client_for(creds).pull(f"{fake.host}/app:1", other)
    assert (str(layer.digest), "bytes=1000-") in fake.ranges
    assert_same(store, other, img)

    # a server that ignores Range: the partial is dropped and the blob fetched whole
    fake.ignore_range = True
    third = LocalStore(str(tmp_path / "third"))
    with third.writer(f"layer-{layer.digest}", total=layer.size, expected=layer.digest) as w:
        w.write(b"x" * 1000)
    client_for(creds).pull(f"{fake.host}/app:1", third)
    assert_same(store, third, img)


def test_a_lying_registry_is_caught_and_nothing_partial_is_kept(fake, store, creds, tmp_path):
    img = make_image(store)
    fake.serve(store, img)
    layer = img.layers[0]
    honest = fake.blobs[str(layer.digest)]
    fake.lie[str(layer.digest)] = bytes(reversed(honest))  # same size, other bytes
    other = LocalStore(str(tmp_path / "other"))
    with pytest.raises(VerificationFailed) as exc:
        client_for(creds).pull(f"{fake.host}/app:1", other)
    assert str(exc.value) == f"filesystem layer verification failed for digest {layer.digest}"
    assert not other.exists(layer.digest)
    assert other.list_statuses() == []


def test_a_manifest_that_does_not_match_its_digest_is_refused(fake, store, creds):
    img = make_image(store)
    fake.serve(store, img)
    media_type, body = fake.manifests[str(img.manifest.digest)]
    fake.manifests[str(img.manifest.digest)] = (
        media_type,
        body.replace(b'"schemaVersion":2', b'"schemaVersion": 2'),
    )
    with pytest.raises(VerificationFailed) as exc:
        client_for(creds).resolve(f"{fake.host}/app@{img.manifest.digest}")
    assert str(exc.value) == f"manifest verification failed for digest {img.manifest.digest}"


def test_schema1_is_refused_clearly(fake, store, creds):
    body = json.dumps({"schemaVersion": 1, "name": "app", "tag": "1", "fsLayers": []}).encode()
    fake.manifests["old"] = (mt.DOCKER_SCHEMA1_SIGNED_MANIFEST, body)
    with pytest.raises(errdefs.NotImplemented) as exc:
        client_for(creds).pull(f"{fake.host}/app:old", store)
    assert "schema 1" in str(exc.value)


def test_a_mirror_is_tried_first_then_the_next(fake, store, creds, tmp_path):
    img = make_image(store)
    fake.serve(store, img)
    down = f"127.0.0.1:{_free_port()}"
    hosts = RegistryHosts(
        certs_dir="/nonexistent", mirrors=[f"http://{down}", f"http://{fake.host}"]
    )
    client = Client(hosts=hosts, credentials=creds)
    fake.manifests["latest"] = fake.manifests["1"]
    # docker.io/library/app resolves through the mirrors; the first one is down
    other = LocalStore(str(tmp_path / "other"))
    r = client.pull(parse_docker_ref("app"), other)
    assert r.manifest.digest == img.manifest.digest
    assert_same(store, other, img)


def test_head_gives_the_descriptor_without_the_body(registry, store, creds):
    img = make_image(store)
    client = client_for(creds)
    client.push(f"{registry.host}/head/app:1", store, img.manifest)
    assert client.head(f"{registry.host}/head/app:1") == Descriptor(
        mt.OCI_MANIFEST, img.manifest.digest, img.manifest.size
    )
    with pytest.raises(errdefs.NotFound, match="manifest unknown"):
        client.head(f"{registry.host}/head/app:2")


def test_credentials_per_call_override_the_stored_ones(basic_registry, store, creds, tmp_path):
    reg = basic_registry
    img = make_image(store)
    client = client_for(creds)  # nothing stored
    ref = f"{reg.host}/percall/app:1"
    client.push(ref, store, img.manifest, credentials=Credentials("apic", "secret"))
    with pytest.raises(errdefs.Unauthorized):
        client.resolve(ref)
    with pytest.raises(errdefs.Unauthorized):
        client.resolve(ref, credentials=Credentials("apic", "nope"))
    other = LocalStore(str(tmp_path / "other"))
    client.pull(ref, other, credentials=Credentials("apic", "secret"))
    assert_same(store, other, img)


class _FullDisk:
    """An ingester whose writes fail as a full disk does."""

    def __init__(self, inner: LocalStore) -> None:
        self.inner = inner
        self.opened = 0

    def writer(self, ref, *, total=0, expected=None):
        from berth.content import NoSpace

        w = self.inner.writer(ref, total=total, expected=expected)
        self.opened += 1
        if not ref.startswith("layer-"):
            return w

        class W:
            offset = property(lambda self: w.offset)

            def write(self, data):
                w.truncate(0)
                raise NoSpace(f"write ingest {ref!r}: no space left on device")

            truncate, commit, close = w.truncate, w.commit, w.close

        return W()


def test_a_full_disk_is_not_retried_and_surfaces_as_is(fake, store, creds, tmp_path):
    from berth.content import NoSpace

    img = make_image(store)
    fake.serve(store, img)
    full = _FullDisk(LocalStore(str(tmp_path / "other")))
    client = client_for(creds)
    client.max_workers = 1
    with pytest.raises(NoSpace, match="no space left on device"):
        client.pull(f"{fake.host}/app:1", full)
    assert len([r for r, _ in fake.ranges]) == 1  # one GET, no retries


def test_two_pulls_of_one_image_into_one_store_share_the_work(registry, store, creds, tmp_path):
    img = make_image(store, big=500_000)
    client = client_for(creds)
    ref = f"{registry.host}/twice/app:1"
    client.push(ref, store, img.manifest)
    shared = LocalStore(str(tmp_path / "shared"))
    errors: list[BaseException] = []

    def pull() -> None:
        try:
            client_for(creds).pull(ref, shared)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pull) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert_same(store, shared, img)
    assert shared.list_statuses() == []
