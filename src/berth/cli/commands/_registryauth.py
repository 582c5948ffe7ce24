"""The credentials ``berth login`` stored, as the ``X-Registry-Auth`` header value the
daemon expects for a pull or a push (base64url JSON AuthConfig; ``e30=`` when none)."""

from __future__ import annotations

__all__ = ["DEFAULT_SERVER", "registry_auth"]

DEFAULT_SERVER = "https://index.docker.io/v1/"


def registry_auth(domain: str) -> str:
    import base64

    from berth.errdefs import BerthError
    from berth.oci.fastjson import dumps
    from berth.registry.credentials import CredentialStore

    try:
        creds = CredentialStore().get(domain)
    except BerthError:
        return "e30="
    if not creds:
        return "e30="
    doc: dict[str, str] = {"username": creds.username, "password": creds.password, "serveraddress": domain}
    if creds.identity_token:
        doc["identitytoken"] = creds.identity_token
    return base64.urlsafe_b64encode(dumps(doc).encode()).decode()
