"""client: the Engine API from the caller's side (a side package; ARCHITECTURE.md).

:class:`~berth.client.api.Client` over :class:`~berth.client.transport.UnixTransport`.
It imports only :mod:`berth.errdefs`, :mod:`berth.api.wire`, :mod:`berth.api.stdcopy`
and :mod:`berth.oci.fastjson`: the berth CLI loads it on every start. Import the
submodules directly; this package imports nothing.
"""
