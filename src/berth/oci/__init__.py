"""Pure OCI spec types and JSON: no I/O, no kernel.

Runtime side (imported by berth-runtime, so kept free of ``json``/``re``/``typing``):
:mod:`.fastjson`, :mod:`.default_spec`, :mod:`.seccomp_default`.

Image side (the daemon's; never imported on the runtime's path, an import-linter
contract says so): :mod:`.digest`, :mod:`.reference`, :mod:`.mediatypes`,
:mod:`.platform`, :mod:`.image`. This package imports none of them itself.
"""
