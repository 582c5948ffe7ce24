"""OCI distribution (Docker Registry v2) client: resolve, pull, push, auth.

Vocabulary (with :mod:`berth.oci.reference` and :mod:`berth.oci.image`):

- **registry** — a ``host[:port]`` (a reference's domain); ``docker.io`` is served at
  ``registry-1.docker.io`` and may have **mirrors** (pull only).
- **endpoint** — one way to reach a registry (:class:`Endpoint`): secure (verified TLS,
  per-registry CA in ``certs.d``) or **insecure** (listed by the operator; 127.0.0.0/8
  by default): unverified TLS, then plain HTTP.
- **resolve** — reference → descriptor of a manifest or an index (manifest list).
- **scope** — what a bearer token allows: ``repository:<path>:pull[,push]``.
- **mount** — a push that borrows a blob the registry has in another repository.

Modules: :mod:`.transport` (the only I/O: connections, TLS fallback, the auth dance),
:mod:`.auth` (challenges, tokens), :mod:`.credentials` (config files), :mod:`.hosts`
(endpoints, TLS, insecure, mirrors), :mod:`.client` (resolve, pull, login; the
operations), :mod:`.push` (the upload protocol), :mod:`.errors`
(the registry's error bodies → berth's categories; drawn there), :mod:`.store` (the
content-store protocols this package needs: ``berth.content`` is a sibling and is
handed in by the layer above).

Typical use (the image service)::

    client = Client(hosts=RegistryHosts(insecure=[...], mirrors=[...]))
    result = client.pull("127.0.0.1:5000/app:1", store)       # → PullResult
    digest = client.push("127.0.0.1:5000/app:2", store, manifest_descriptor)
    client.pull(ref, store, credentials=Credentials(user, pw))  # X-Registry-Auth

All I/O is synchronous; layers move in a small thread pool.
"""

from berth.registry.auth import Challenge, Credentials, parse_challenges
from berth.registry.client import Client, Progress, PullResult, Resolved
from berth.registry.credentials import CredentialStore, registry_key
from berth.registry.errors import VerificationFailed
from berth.registry.hosts import Endpoint, RegistryHosts
from berth.registry.store import BlobIngester, BlobProvider, BlobSource, BlobWriter
from berth.registry.transport import Transport

__all__ = [
    "BlobIngester",
    "BlobProvider",
    "BlobSource",
    "BlobWriter",
    "Challenge",
    "Client",
    "CredentialStore",
    "Credentials",
    "Endpoint",
    "Progress",
    "PullResult",
    "RegistryHosts",
    "Resolved",
    "Transport",
    "VerificationFailed",
    "parse_challenges",
    "registry_key",
]
