"""Public test helpers: busybox root filesystems and bundles, an OCI runtime driver for
the conformance suite, and the pytest plugin (markers, root skips, leak check).
Imported only by tests."""
