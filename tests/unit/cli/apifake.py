"""A scripted Engine API daemon for the container-command tests: berth's own ApiServer
on a temp unix socket (tests/unit/api/helpers.serve) answering canned replies per route
and recording every request (method, target with ``/vX.Y`` and query, body)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from berth.api import system
from berth.api.request import Request
from berth.api.response import Reply, Response, StreamResponse, StreamWriter
from berth.api.router import Router
from berth.cli.main import main
from berth.oci.fastjson import dumps

from ..api.helpers import serve
from ..api.test_system import FakeSystem


class FakeDaemon:
    def __init__(self) -> None:
        self.router = Router()
        system.register(self.router, FakeSystem())
        self.seen: list[tuple[str, str, bytes]] = []
        self.path = ""

    def on(
        self,
        method: str,
        pattern: str,
        body: str | bytes = b"",
        status: int = 200,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body

        async def handler(req: Request) -> Reply:
            self.seen.append((req.method, req.target, await req.body.read_all(1 << 24)))
            return Response(status, data, headers, content_type if data or status >= 400 else None)

        self.router.add(method, pattern, handler)

    def error(self, method: str, pattern: str, status: int, message: str) -> None:
        self.on(method, pattern, '{"message":' + dumps(message) + "}", status)

    def stream(self, method: str, pattern: str, chunks: list[bytes]) -> None:
        async def handler(req: Request) -> Reply:
            self.seen.append((req.method, req.target, b""))

            async def produce(w: StreamWriter) -> None:
                for c in chunks:
                    await w.write(c)

            return StreamResponse(produce)

        self.router.add(method, pattern, handler)

    def targets(self) -> list[str]:
        return [f"{m} {t}" for m, t, _ in self.seen]

    def run(self, *argv: str) -> int:
        return main(["-H", f"unix://{self.path}", *argv])


@contextmanager
def daemon(fake: FakeDaemon) -> Iterator[FakeDaemon]:
    with serve(fake.router) as path:
        fake.path = path
        yield fake
