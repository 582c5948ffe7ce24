"""``POST /auth``: check credentials against a registry (``docker login``).

Wire shape from trace ``login.txt``: the body ``{"username","password","serveraddress"}``
(also ``identitytoken``), the answer ``{"IdentityToken":"","Status":"Login Succeeded"}``;
a refusal is 401 with the registry's wording. The daemon keeps nothing: the client
stores the credentials and sends them with each pull and push (``X-Registry-Auth``).
"""

from __future__ import annotations

from typing import Protocol

from berth import errdefs
from berth.api.request import Request
from berth.api.response import Reply, json_response
from berth.api.router import Router

__all__ = ["AuthBackend", "register"]

DEFAULT_SERVER = "https://index.docker.io/v1/"


class AuthBackend(Protocol):
    async def login(self, server: str, username: str, password: str) -> None: ...


def register(router: Router, backend: AuthBackend) -> None:
    async def auth(req: Request) -> Reply:
        doc = await req.json()
        if not isinstance(doc, dict):
            raise errdefs.InvalidArgument("invalid auth configuration: not a JSON object")
        server = str(doc.get("serveraddress") or "") or DEFAULT_SERVER
        username = str(doc.get("username") or "")
        password = str(doc.get("password") or "")
        await backend.login(server, username, password)
        return json_response({"IdentityToken": "", "Status": "Login Succeeded"})

    router.add("POST", "/auth", auth)
