"""api: the Docker Engine API over HTTP/1.1 (ARCHITECTURE.md L7).

Wire shapes — PascalCase JSON as dockerd sends it — live only in this package; services
below return snake_case domain values and the route modules translate.

Modules:

- :mod:`~berth.api.wire` — versions, media types, status ↔ error category (shared with
  :mod:`berth.client`; imports nothing heavy);
- :mod:`~berth.api.stdcopy` — the multiplexed stdout/stderr framing (shared with clients);
- :mod:`~berth.api.filters` — the ``filters`` query parameter, both encodings;
- :mod:`~berth.api.http` — HTTP/1.1 on one connection (bodies, keep-alive, streaming,
  hijack);
- :mod:`~berth.api.request`, :mod:`~berth.api.response` — what handlers get and return;
- :mod:`~berth.api.router`, :mod:`~berth.api.errors`, :mod:`~berth.api.server` — routing,
  error mapping, version prefixes, listeners;
- :mod:`~berth.api.timefmt` — timestamps as Go writes them (RFC 3339 with nanoseconds);
- one module per resource with ``register(router, backend)`` and the small Protocol its
  backend must satisfy: :mod:`~berth.api.system` (``/_ping``, ``/version``, ``/info``,
  swarm).

Nothing is imported here: the CLI imports :mod:`~berth.api.wire` alone.
"""
