"""cgroup v2 controllers, one module each (Documentation/admin-guide/cgroup-v2.rst).

Each module has ``apply(resources, path)`` writing the OCI ``linux.resources`` fields it
owns into the group directory ``path`` of the unified hierarchy and, where the
controller reports usage, ``stats(path)`` in the shape of runc's ``events --stats``
data. ``-1`` in OCI is ``max`` here. ``devices`` is an eBPF program, not a file, and
``unified`` writes arbitrary files the spec names.
"""
