"""Pure OCI spec types and JSON: no I/O, no kernel. Runtime config and state, defaults."""
