"""berth: a container engine built from Linux parts.

Nothing is imported here: berth-runtime, berth-shim and the berth CLI must start fast, so
each imports only the modules its path needs.
"""

__version__ = "0.1.0"
