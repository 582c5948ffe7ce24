"""Containers: the Docker domain's container, its OCI spec, its lifecycle over berth-shim."""
