"""daemon: berthd, the long-lived process (ARCHITECTURE.md L8).

:mod:`~berth.daemon.config` (flags and daemon.json), :mod:`~berth.daemon.lock` (one
daemon per root), :mod:`~berth.daemon.listeners` (unix and TLS sockets),
:mod:`~berth.daemon.wiring` (the composition root) and :mod:`~berth.daemon.main`.
"""
